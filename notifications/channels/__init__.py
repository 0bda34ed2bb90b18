"""One module per messaging API; each declares its facts as data at the top.

A channel module holds pure functions only (build the request, read the answer);
``notifications.delivery.deliver`` owns the I/O. Register a new module in
``notifications.registry``. What several channels need comes from the shared modules
of ``notifications`` (``framing``, ``fitting``, ``outbound``, ``answers``, ``http_status``,
``credentials``, ``config``, ``group_robots``, ``receivers``), never from another channel.
"""
