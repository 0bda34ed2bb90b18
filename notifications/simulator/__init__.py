"""The responder simulator: a real HTTP server on loopback that answers as each messaging API does.

Used by the demo and the tests. Each API has a twin module registering its routes
(``webhook``: ``POST /webhook/{name}``); ``/_sim`` routes script misbehaviour and
expose what was received::

    async with Simulator(webhook_secret="whsec_…") as simulator:
        simulator.script("/webhook/ops", fail_times=2)
        ...                       # deliver to f"{simulator.url}/webhook/ops"
        simulator.records         # what arrived, with signature verdicts and answers
        simulator.respond("wang-fang", after_ms=2000)   # she answers her ack links 2 s after they arrive
        simulator.respond("*", after_ms=None)           # nobody else ever does

    with SimulatorThread() as simulator:   # the same from synchronous code
        simulator.records(path="/webhook/ops")
"""

from notifications.simulator.responders import SimAnswer, SimResponder
from notifications.simulator.server import Simulator
from notifications.simulator.state import SimRecord, SimScript
from notifications.simulator.thread import SimulatorThread, serve_forever

__all__ = ["SimAnswer", "SimRecord", "SimResponder", "SimScript", "Simulator", "SimulatorThread", "serve_forever"]
