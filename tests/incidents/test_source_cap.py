"""OASIS CAP 1.2 alerts read into intake events, and hostile or malformed XML refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents import EventAction, Incident, parse_cap
from muster.errors import IntakeError

# CAP 1.2 (OASIS Standard, 1 July 2010), Appendix A, rebuilt from the specification's text.
# A.1 Homeland Security Advisory System Alert
HOMELAND_SECURITY = """<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>43b080713727</identifier>
  <sender>hsas@dhs.gov</sender>
  <sent>2003-04-02T14:39:01-05:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Security</category>
    <event>Homeland Security Advisory System Update</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <senderName>U.S. Government, Department of Homeland Security</senderName>
    <headline>Homeland Security Sets Code ORANGE</headline>
    <description>The Department of Homeland Security has elevated the Homeland Security Advisory System threat level to ORANGE / High in response to intelligence which may indicate a heightened threat of terrorism.</description>
    <instruction> A High Condition is declared when there is a high risk of terrorist attacks. In addition to the Protective Measures taken in the previous Threat Conditions, Federal departments and agencies should consider agency-specific Protective Measures in accordance with their existing plans.</instruction>
    <web>http://www.dhs.gov/dhspublic/display?theme=29</web>
    <parameter>
      <valueName>HSAS</valueName>
      <value>ORANGE</value>
    </parameter>
    <resource>
      <resourceDesc>Image file (GIF)</resourceDesc>
      <mimeType>image/gif</mimeType>
      <uri>http://www.dhs.gov/dhspublic/getAdvisoryImage</uri>
    </resource>
    <area>
      <areaDesc>U.S. nationwide and interests worldwide</areaDesc>
    </area>
  </info>
</alert>
"""  # noqa: E501

# A.2 Severe Thunderstorm Warning
THUNDERSTORM = """<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KSTO1055887203</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2003-06-17T14:57:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>SVR</value>
    </eventCode>
    <expires>2003-06-17T16:00:00-07:00</expires>
    <senderName>NATIONAL WEATHER SERVICE SACRAMENTO CA</senderName>
    <headline>SEVERE THUNDERSTORM WARNING</headline>
    <description> AT 254 PM PDT...NATIONAL WEATHER SERVICE DOPPLER RADAR INDICATED A SEVERE THUNDERSTORM OVER SOUTH CENTRAL ALPINE COUNTY...OR ABOUT 18 MILES SOUTHEAST OF KIRKWOOD...MOVING SOUTHWEST AT 5 MPH. HAIL...INTENSE RAIN AND STRONG DAMAGING WINDS ARE LIKELY WITH THIS STORM.</description>
    <instruction>TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES.</instruction>
    <contact>BARUFFALDI/JUSKIE</contact>
    <area>
      <areaDesc>EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA, EXTREME NORTHEASTERN CALAVERAS COUNTY IN CALIFORNIA, SOUTHWESTERN ALPINE COUNTY IN CALIFORNIA</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode>
        <valueName>SAME</valueName>
        <value>006109</value>
      </geocode>
      <geocode>
        <valueName>SAME</valueName>
        <value>006009</value>
      </geocode>
      <geocode>
        <valueName>SAME</valueName>
        <value>006003</value>
      </geocode>
    </area>
  </info>
</alert>
"""  # noqa: E501

# A.3 Earthquake Report (Update Message)
EARTHQUAKE = """<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TRI13970876.2</identifier>
  <sender>trinet@caltech.edu</sender>
  <sent>2003-06-11T20:56:00-07:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00</references>
  <info>
    <category>Geo</category>
    <event>Earthquake</event>
    <urgency>Past</urgency>
    <severity>Minor</severity>
    <certainty>Observed</certainty>
    <senderName>Southern California Seismic Network (TriNet) operated by Caltech and USGS</senderName>
    <headline>EQ 3.4 Imperial County CA</headline>
    <description>A minor earthquake measuring 3.4 on the Richter scale occurred near Brawley, California at 8:30 PM Pacific Daylight Time on Wednesday, June 11, 2003. (This event has now been reviewed by a seismologist)</description>
    <web>http://www.trinet.org/scsn/scsn.html</web>
    <parameter>
      <valueName>EventID</valueName>
      <value>13970876</value>
    </parameter>
    <parameter>
      <valueName>Version</valueName>
      <value>1</value>
    </parameter>
    <parameter>
      <valueName>Magnitude</valueName>
      <value>3.4 Ml</value>
    </parameter>
    <parameter>
      <valueName>Depth</valueName>
      <value>11.8 mi.</value>
    </parameter>
    <parameter>
      <valueName>Quality</valueName>
      <value>Excellent</value>
    </parameter>
    <area>
      <areaDesc>1 mi. WSW of Brawley, CA; 11 mi. N of El Centro, CA; 30 mi. E of OCOTILLO (quarry); 1 mi. N of the Imperial Fault</areaDesc>
      <circle>32.9525,-115.5527 0</circle>
    </area>
  </info>
</alert>
"""  # noqa: E501

# A.4 AMBER Alert (Multilingual Message)
AMBER = """<?xml version = "1.0" encoding = "UTF-8"?>
<alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KAR0-0306112239-SW</identifier>
  <sender>KARO@CLETS.DOJ.CA.GOV</sender>
  <sent>2003-06-11T22:39:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>SW</source>
  <scope>Public</scope>
  <info>
    <language>en-US</language>
    <category>Rescue</category>
    <event>Child Abduction</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>CAE</value>
    </eventCode>
    <senderName>Los Angeles Police Dept - LAPD</senderName>
    <headline>Amber Alert in Los Angeles County</headline>
    <description>DATE/TIME: 06/11/03, 1915 HRS.  VICTIM(S): KHAYRI DOE JR. M/B BLK/BRO 3'0", 40 LBS. LIGHT COMPLEXION.  DOB 06/24/01. WEARING RED SHORTS, WHITE T-SHIRT, W/BLUE COLLAR.  LOCATION: 5721 DOE ST., LOS ANGELES, CA.  SUSPECT(S): KHAYRI DOE SR. DOB 04/18/71 M/B, BLK HAIR, BRO EYE. VEHICLE: 81' BUICK 2-DR, BLUE (4XXX000).</description>
    <contact>DET. SMITH, 77TH DIV, LOS ANGELES POLICE DEPT-LAPD AT 213 485-2389</contact>
    <area>
      <areaDesc>Los Angeles County</areaDesc>
      <geocode>
        <valueName>SAME</valueName>
        <value>006037</value>
      </geocode>
    </area>
  </info>
  <info>
    <language>es-US</language>
    <category>Rescue</category>
    <event>Abducción de Niño</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <eventCode>
      <valueName>SAME</valueName>
      <value>CAE</value>
    </eventCode>
    <senderName>Departamento de Policía de Los Ángeles - LAPD</senderName>
    <headline>Alerta Amber en el condado de Los Ángeles</headline>
    <description>DATE/TIME: 06/11/03, 1915 HORAS. VÍCTIMAS: KHAYRI DOE JR. M/B BLK/BRO 3'0", 40 LIBRAS. TEZ LIGERA. DOB 06/24/01. CORTOCIRCUITOS ROJOS QUE USAN, CAMISETA BLANCA, COLLAR DE W/BLUE. LOCALIZACIÓN: 5721 DOE ST., LOS ÁNGELES. SOSPECHOSO: KHAYRI DOE ST. DOB 04/18/71 M/B, PELO DEL NEGRO, OJO DE BRO. VEHÍCULO: 81' BUICK 2-DR, AZUL (4XXX000)</description>
    <contact>DET. SMITH, 77TH DIV, LOS ANGELES POLICE DEPT-LAPD AT 213 485-2389</contact>
    <area>
      <areaDesc>condado de Los Ángeles</areaDesc>
      <geocode>
        <valueName>SAME</valueName>
        <value>006037</value>
      </geocode>
    </area>
  </info>
</alert>
"""  # noqa: E501

# A city meteorological observatory's gale warning, English info first and Chinese second.
GALE_SENDER = "szqxt@12379.cn"
GALE = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>32050041600000_20261129081500</identifier>
  <sender>{GALE_SENDER}</sender>
  <sent>2026-11-29T08:15:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>en-US</language>
    <category>Met</category>
    <event>Gale</event>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <senderName>Suzhou Meteorological Observatory</senderName>
    <headline>Suzhou Meteorological Observatory issues Blue Gale Warning</headline>
    <description>Northerly winds of force 6 to 7, gusting 8, are expected this afternoon and tonight.</description>
    <area><areaDesc>Suzhou, Jiangsu</areaDesc></area>
  </info>
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>大风</event>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <senderName>苏州市气象台</senderName>
    <headline>苏州市气象台发布大风蓝色预警[IV级/一般]</headline>
    <description>受强冷空气影响，预计今天下午到夜里我市将出现6～7级偏北大风，阵风8级，请注意防范。</description>
    <instruction>1.政府及相关部门按照职责做好防大风工作；2.关好门窗，加固围板、棚架、广告牌等易被风吹动的搭建物。</instruction>
    <parameter><valueName>预警级别</valueName><value>蓝色</value></parameter>
    <area>
      <areaDesc>江苏省苏州市</areaDesc>
      <geocode><valueName>GB2260</valueName><value>320500</value></geocode>
    </area>
  </info>
</alert>
"""
GALE_KEY = f"{GALE_SENDER},32050041600000_20261129081500,2026-11-29T08:15:00+08:00"

GALE_UPDATE = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>32050041600000_20261129113000</identifier>
  <sender>{GALE_SENDER}</sender>
  <sent>2026-11-29T11:30:00+08:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>{GALE_KEY}</references>
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>大风</event>
    <urgency>Immediate</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <senderName>苏州市气象台</senderName>
    <headline>苏州市气象台将大风蓝色预警升级为黄色预警[III级/较重]</headline>
    <description>预计未来12小时我市将出现8级以上偏北大风，阵风9～10级。</description>
    <area><areaDesc>江苏省苏州市</areaDesc></area>
  </info>
</alert>
"""
GALE_UPDATE_KEY = f"{GALE_SENDER},32050041600000_20261129113000,2026-11-29T11:30:00+08:00"

GALE_CANCEL = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>32050041600000_20261129200000</identifier>
  <sender>{GALE_SENDER}</sender>
  <sent>2026-11-29T20:00:00+08:00</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <references>{GALE_KEY} {GALE_UPDATE_KEY}</references>
</alert>
"""

# A county emergency management bureau's drill: status Exercise is CAP's word for a drill (演练).
CHEMICAL_EXERCISE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>RD-YJ-2026-1129-01</identifier>
  <sender>rdyjglj@12379.cn</sender>
  <sent>2026-11-29T09:30:00+08:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Restricted</scope>
  <restriction>园区应急联动单位</restriction>
  <note>本信息为应急演练，非真实事件。</note>
  <info>
    <language>zh-CN</language>
    <category>Safety</category>
    <category>CBRNE</category>
    <event>危险化学品泄漏</event>
    <responseType>Evacuate</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <senderName>如东县应急管理局</senderName>
    <headline>【演练】洋口化学工业园B罐区液氨泄漏</headline>
    <description>09:20 B罐区3号液氨储罐出料管线法兰泄漏，现场1人轻微吸入。</description>
    <instruction>下风向500米内人员向东侧集合点撤离。</instruction>
    <area>
      <areaDesc>江苏省南通市如东县洋口化学工业园</areaDesc>
      <circle>32.5536,121.0328 0.5</circle>
    </area>
  </info>
</alert>
"""


def _problems(xml: str | bytes) -> tuple[tuple[str, str], ...]:
    with pytest.raises(IntakeError) as caught:
        parse_cap(xml.encode() if isinstance(xml, str) else xml)
    return caught.value.problems


def test_homeland_security_advisory_becomes_a_trigger_keyed_by_its_cap_reference() -> None:
    """A.1: an Actual Alert triggers; its key is sender,identifier,sent and its time is sent, in UTC."""
    [event] = parse_cap(HOMELAND_SECURITY.encode())
    assert (event.format, event.action, event.drill) == ("cap", EventAction.TRIGGER, False)
    assert event.dedup_key == "hsas@dhs.gov,43b080713727,2003-04-02T14:39:01-05:00"
    assert event.references == []
    fields = event.fields
    assert fields["title"] == "Homeland Security Sets Code ORANGE"
    assert fields["occurred_at"] == datetime(2003, 4, 2, 19, 39, 1, tzinfo=UTC)
    assert fields["location"] == "U.S. nationwide and interests worldwide"
    assert fields["reporter"] == "U.S. Government, Department of Homeland Security"
    assert fields["language"] == "en"
    assert fields["description"] == (
        "The Department of Homeland Security has elevated the Homeland Security Advisory System threat level to "
        "ORANGE / High in response to intelligence which may indicate a heightened threat of terrorism.\n\n"
        "Instruction: A High Condition is declared when there is a high risk of terrorist attacks. In addition to "
        "the Protective Measures taken in the previous Threat Conditions, Federal departments and agencies should "
        "consider agency-specific Protective Measures in accordance with their existing plans."
    )
    Incident.model_validate({"type": "security_threat", **fields})


def test_match_fields_cover_the_alert_header_and_the_info_codes() -> None:
    """Rules can test the alert's status, msgType, scope, sender and the info's event, category and codes."""
    [event] = parse_cap(HOMELAND_SECURITY.encode())
    assert event.match == {
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "sender": "hsas@dhs.gov",
        "event": "Homeland Security Advisory System Update",
        "category": "Security",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "en-US",
        "parameter.HSAS": "ORANGE",
    }


def test_thunderstorm_warning_keeps_its_polygon_and_geocodes_as_labels() -> None:
    """A.2: the warning area's polygon and SAME codes are labels; responseType and eventCode are match fields."""
    [event] = parse_cap(THUNDERSTORM.encode())
    assert event.fields["title"] == "SEVERE THUNDERSTORM WARNING"
    assert event.fields["labels"] == {
        "polygon": "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14",
        "geocode.SAME": "006109 006009 006003",
    }
    assert event.fields["location"].startswith("EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA")
    assert event.fields["occurred_at"] == datetime(2003, 6, 17, 21, 57, tzinfo=UTC)
    assert (event.match["eventCode.SAME"], event.match["responseType"]) == ("SVR", "Shelter")
    assert event.fields["description"].endswith(
        "Instruction: TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES."
    )


def test_earthquake_report_is_an_update_of_the_alert_it_references() -> None:
    """A.3: an Update names the earlier alert in <references>, in the same key form as a dedup key."""
    [event] = parse_cap(EARTHQUAKE.encode())
    assert event.action is EventAction.UPDATE
    assert event.dedup_key == "trinet@caltech.edu,TRI13970876.2,2003-06-11T20:56:00-07:00"
    assert event.references == ["trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00"]
    assert event.fields["labels"] == {"circle": "32.9525,-115.5527 0"}
    assert event.match["parameter.Magnitude"] == "3.4 Ml"
    assert event.match["category"] == "Geo"


def test_amber_alert_reads_the_english_info_and_lists_the_other_languages() -> None:
    """A.4: with English and Spanish infos the English one is read; the Spanish headline joins the description."""
    [event] = parse_cap(AMBER.encode())
    assert event.fields["title"] == "Amber Alert in Los Angeles County"
    assert event.fields["location"] == "Los Angeles County"
    assert event.fields["labels"] == {"geocode.SAME": "006037"}
    assert event.fields["description"].endswith("\n\n[es-US] Alerta Amber en el condado de Los Ángeles")
    assert (event.match["event"], event.match["language"]) == ("Child Abduction", "en-US")


def test_a_chinese_info_is_preferred_over_an_english_one() -> None:
    """With zh-CN and en-US infos the Chinese one is read, and the incident's language is zh."""
    [event] = parse_cap(GALE.encode())
    fields = event.fields
    assert fields["title"] == "苏州市气象台发布大风蓝色预警[IV级/一般]"
    assert fields["language"] == "zh"
    assert fields["location"] == "江苏省苏州市"
    assert fields["reporter"] == "苏州市气象台"
    assert fields["labels"] == {"geocode.GB2260": "320500"}
    assert fields["occurred_at"] == datetime(2026, 11, 29, 0, 15, tzinfo=UTC)
    assert fields["description"] == (
        "受强冷空气影响，预计今天下午到夜里我市将出现6～7级偏北大风，阵风8级，请注意防范。\n\n"
        "防御指引：1.政府及相关部门按照职责做好防大风工作；2.关好门窗，加固围板、棚架、广告牌等易被风吹动的搭建物。\n\n"
        "[en-US] Suzhou Meteorological Observatory issues Blue Gale Warning"
    )
    assert (event.match["event"], event.match["parameter.预警级别"]) == ("大风", "蓝色")
    assert event.dedup_key == GALE_KEY


def test_a_chinese_update_references_the_alert_it_raises() -> None:
    """The upgrade to a yellow warning is an UPDATE whose reference is the blue warning's dedup key."""
    [alert] = parse_cap(GALE.encode())
    [update] = parse_cap(GALE_UPDATE.encode())
    assert update.action is EventAction.UPDATE
    assert update.references == [alert.dedup_key]
    assert update.fields["title"] == "苏州市气象台将大风蓝色预警升级为黄色预警[III级/较重]"
    assert update.match["severity"] == "Moderate"
    assert "occurred_at" not in update.fields


def test_a_cancel_without_info_references_every_alert_it_cancels() -> None:
    """A Cancel lifts the warning: CANCEL with both earlier keys and no incident fields of its own."""
    [event] = parse_cap(GALE_CANCEL.encode())
    assert event.action is EventAction.CANCEL
    assert event.references == [GALE_KEY, GALE_UPDATE_KEY]
    assert event.fields == {}
    assert event.match == {"status": "Actual", "msgType": "Cancel", "scope": "Public", "sender": GALE_SENDER}


def test_an_exercise_alert_is_a_drill() -> None:
    """status Exercise is CAP's drill: the event is marked drill and otherwise read like an Actual alert."""
    [event] = parse_cap(CHEMICAL_EXERCISE.encode())
    assert (event.action, event.drill) == (EventAction.TRIGGER, True)
    assert event.fields["title"] == "【演练】洋口化学工业园B罐区液氨泄漏"
    assert event.fields["labels"] == {"circle": "32.5536,121.0328 0.5"}
    assert event.fields["description"].splitlines()[-1] == "说明：本信息为应急演练，非真实事件。"
    assert (event.match["status"], event.match["category"], event.match["scope"]) == (
        "Exercise",
        "Safety",
        "Restricted",
    )


@pytest.mark.parametrize("status", ["Test", "Draft", "System"])
def test_test_draft_and_system_alerts_make_no_event(status: str) -> None:
    """A Test, Draft or System message is valid CAP but no incident: nothing is started, nothing is refused."""
    assert parse_cap(HOMELAND_SECURITY.replace("<status>Actual</status>", f"<status>{status}</status>").encode()) == []


@pytest.mark.parametrize("msg_type", ["Ack", "Error"])
def test_ack_and_error_messages_make_no_event(msg_type: str) -> None:
    """Ack and Error answer other messages; they report nothing that happened."""
    xml = EARTHQUAKE.replace("<msgType>Update</msgType>", f"<msgType>{msg_type}</msgType>")
    assert parse_cap(xml.encode()) == []


def test_billion_laughs_is_refused_without_expanding() -> None:
    """Nested entity definitions ("billion laughs") are refused at the DOCTYPE, before any expansion."""
    entities = "\n".join(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE alert [
 <!ENTITY lol0 "lol">
{entities}
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""
    [(path, message)] = _problems(xml)
    assert path == ""
    assert message.startswith("line 2: the CAP body declares a DOCTYPE, which Muster refuses")
    assert "lollol" not in message


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file://{path}">]>',
        '<!DOCTYPE alert [<!ENTITY % xxe SYSTEM "file://{path}"> %xxe;]>',
        '<!DOCTYPE alert [<!ENTITY xxe PUBLIC "-//X//Y" "file://{path}">]>',
        '<!DOCTYPE alert SYSTEM "file://{path}">',
    ],
)
@pytest.mark.parametrize("secret_file", ["/etc/passwd", "tmp"])
def test_an_external_entity_is_refused_and_the_file_never_read(doctype: str, secret_file: str, tmp_path: Path) -> None:
    """An external entity naming a local file is refused; no byte of the file shows in the error."""
    if secret_file == "tmp":
        secret = tmp_path / "secret.txt"
        secret.write_text("MUSTER-SECRET-7f3a9c db_password=hunter2\n", encoding="utf-8")
        path, content = str(secret), secret.read_text(encoding="utf-8")
    else:
        path = secret_file
        content = Path(path).read_text(encoding="utf-8") if Path(path).exists() else "root:x:0:0"
    xml = f"""<?xml version="1.0"?>
{doctype.format(path=path)}
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>x1</identifier><sender>s@example.org</sender><sent>2026-11-29T08:15:00+08:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Safety</category><event>&xxe;</event><urgency>Immediate</urgency>
  <severity>Severe</severity><certainty>Observed</certainty><headline>&xxe;</headline></info>
</alert>"""
    with pytest.raises(IntakeError) as caught:
        parse_cap(xml.encode())
    shown = f"{caught.value} {caught.value.problems!r} {caught.value.__cause__!r} {caught.value.__context__!r}"
    assert "DOCTYPE" in shown
    for line in content.splitlines():
        if line.strip():
            assert line not in shown


def test_an_undeclared_entity_is_malformed_xml_with_its_line() -> None:
    """An entity reference without a DTD is not well-formed; the error names line and column."""
    xml = HOMELAND_SECURITY.replace("<event>Homeland", "<event>&xxe;Homeland")
    assert _problems(xml) == (("", "the CAP body is not valid XML: undefined entity at line 11, column 11"),)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"", "the CAP body is not valid XML: no element found at line 1, column 0"),
        (b'{"alert": "not xml"}', "the CAP body is not valid XML: not well-formed (invalid token) at line 1, column 0"),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">\n  <identifier>x</alert>',
            "the CAP body is not valid XML: mismatched tag at line 2, column 17",
        ),
        (
            b'<?xml version="1.0" encoding="GB2312"?><alert/>',
            "the CAP body cannot be decoded (multi-byte encodings are not supported); send it as UTF-8",
        ),
    ],
)
def test_malformed_xml_is_refused_with_where_it_broke(xml: bytes, message: str) -> None:
    """Bytes that are not well-formed XML are an IntakeError saying where parsing stopped."""
    assert _problems(xml) == (("", message),)


@pytest.mark.parametrize(
    ("namespace", "problem"),
    [
        (
            ' xmlns="urn:oasis:names:tc:emergency:cap:1.1"',
            (
                "alert",
                "must be in the CAP 1.2 namespace urn:oasis:names:tc:emergency:cap:1.2; "
                "got urn:oasis:names:tc:emergency:cap:1.1",
            ),
        ),
        ("", ("alert", "must be in the CAP 1.2 namespace urn:oasis:names:tc:emergency:cap:1.2; it has none")),
    ],
)
def test_an_alert_outside_the_cap_1_2_namespace_is_refused(namespace: str, problem: tuple[str, str]) -> None:
    """CAP 1.1 or namespace-less alerts are refused by namespace, not half-read."""
    xml = HOMELAND_SECURITY.replace(' xmlns = "urn:oasis:names:tc:emergency:cap:1.2"', namespace)
    assert _problems(xml) == (problem,)


def test_a_root_that_is_not_an_alert_is_refused() -> None:
    """An Atom feed of alerts is not an alert."""
    xml = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>alerts</title></feed>'
    assert _problems(xml) == (("", "the root element must be a CAP <alert>, got <feed>"),)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("<identifier>43b080713727</identifier>", "", ("alert.identifier", "is required")),
        (
            "<identifier>43b080713727</identifier>",
            "<identifier>43b,080713727</identifier>",
            ("alert.identifier", "must not contain spaces, commas, < or & (CAP 1.2 §3.2.1), got '43b,080713727'"),
        ),
        (
            "<sender>hsas@dhs.gov</sender>",
            "<sender>hsas @dhs.gov</sender>",
            ("alert.sender", "must not contain spaces, commas, < or & (CAP 1.2 §3.2.1), got 'hsas @dhs.gov'"),
        ),
        (
            "<sent>2003-04-02T14:39:01-05:00</sent>",
            "<sent>2003-04-02T14:39:01</sent>",
            (
                "alert.sent",
                "must be a CAP time with its offset, such as 2003-06-17T14:57:00-07:00, got '2003-04-02T14:39:01'",
            ),
        ),
        (
            "<status>Actual</status>",
            "<status>Real</status>",
            ("alert.status", "must be one of Actual, Exercise, System, Test, Draft, got 'Real'"),
        ),
        (
            "<msgType>Alert</msgType>",
            "<msgType>Notice</msgType>",
            ("alert.msgType", "must be one of Alert, Update, Cancel, Ack, Error, got 'Notice'"),
        ),
        ("<scope>Public</scope>", "", ("alert.scope", "is required")),
        (
            "<severity>Severe</severity>",
            "<severity>High</severity>",
            ("alert.info[0].severity", "must be one of Extreme, Severe, Moderate, Minor, Unknown, got 'High'"),
        ),
        ("<urgency>Immediate</urgency>", "", ("alert.info[0].urgency", "is required")),
        (
            "<category>Security</category>",
            "<category>Terror</category>",
            (
                "alert.info[0].category[0]",
                "must be one of Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, "
                "Other, got 'Terror'",
            ),
        ),
        (
            "<areaDesc>U.S. nationwide and interests worldwide</areaDesc>",
            "",
            ("alert.info[0].area[0].areaDesc", "is required"),
        ),
    ],
)
def test_a_wrong_cap_element_is_reported_at_its_path(old: str, new: str, problem: tuple[str, str]) -> None:
    """Each missing or wrong CAP element is an IntakeError naming its path, e.g. alert.info[0].severity."""
    assert old in HOMELAND_SECURITY
    assert _problems(HOMELAND_SECURITY.replace(old, new)) == (problem,)


def test_an_alert_without_info_is_refused() -> None:
    """An Alert must say what happened in at least one <info>."""
    start, end = HOMELAND_SECURITY.index("<info>"), HOMELAND_SECURITY.index("</info>") + len("</info>")
    xml = HOMELAND_SECURITY[:start] + HOMELAND_SECURITY[end:]
    assert _problems(xml) == (("alert.info", "an Alert needs at least one <info> saying what happened"),)


def test_an_update_without_references_is_refused() -> None:
    """An Update that does not say what it updates cannot be applied to any incident."""
    xml = EARTHQUAKE.replace("<references>trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00</references>", "")
    assert _problems(xml) == (
        ("alert.references", "an Update must name the alert(s) it refers to as sender,identifier,sent"),
    )


def test_a_reference_that_is_not_a_triplet_is_refused() -> None:
    """Each reference must be sender,identifier,sent; a bare identifier is not enough to find the alert."""
    xml = EARTHQUAKE.replace("trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00", "TRI13970876.1")
    assert _problems(xml) == (("alert.references", "'TRI13970876.1' is not a sender,identifier,sent triplet"),)


def test_every_header_problem_is_reported_at_once() -> None:
    """All header problems come back together."""
    xml = HOMELAND_SECURITY.replace("<status>Actual</status>", "<status>Real</status>").replace(
        "<scope>Public</scope>", ""
    )
    assert [path for path, _ in _problems(xml)] == ["alert.status", "alert.scope"]
