#!/usr/bin/env python3
"""Writes phone_escalation_update_set.xml, the update set an admin imports (README.md beside
this file), from the scripts beside it and the records listed below.

    python3 infra/servicenow/make_update_set.py [OUT]   # after changing a script or a record

tools/admin/tests/update_set.rs checks the XML: every record is there, and the scripts in it
are byte for byte the files the signature test runs. Record sys_ids are derived from their
names, so regenerating changes only what changed.
"""
import hashlib
import os
import sys
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "phone_escalation_update_set.xml")
UPDATE_SET = "Phone escalation 1.0"
STAMP = "2026-12-01 00:00:00"
ROLE = "x_escalation.integration"
EVENT = "x_escalation.escalate"
CANCEL_EVENT = "x_escalation.cancel"
REST_MESSAGE = "Phone escalation trigger"


def sys_id(key):
    return hashlib.md5(("phone-escalation:" + key).encode()).hexdigest()


def script(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as fh:
        text = fh.read()
    assert "]]>" not in text, f"{name} must not contain ]]> (it goes in a CDATA section)"
    return text


def field(name, value):
    if value is None:
        return f"<{name}/>"
    if isinstance(value, tuple):  # (reference sys_id, display value)
        return f"<{name} display_value={quoteattr(value[1])}>{value[0]}</{name}>"
    if name in ("script", "condition", "operation_script"):
        return f"<{name}><![CDATA[{value}]]></{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


RECORDS = []  # (table, sys_id, type label, target name, target table, fields)


def record(rec_table, key, label, target, target_table, **fields):
    sid = sys_id(key)
    RECORDS.append((rec_table, sid, label, target, target_table, {"sys_id": sid, **fields}))
    return sid


def prop(name, kind, value, description, private=False):
    record("sys_properties", "property:" + name, "System Property", name, "",
           name=name, type=kind, value=value, description=description,
           is_private=str(private).lower(), ignore_cache="false", read_roles="", write_roles="admin")


prop("x_escalation.trigger_url", "string", "",
     "Phone escalation: the trigger's function URL (stack output TriggerUrl).")
prop("x_escalation.hmac_key_b64", "password2", "",
     "Phone escalation: the shared HMAC key, base64 (the same string as trigger_hmac_key in the AWS secret).",
     private=True)
prop("x_escalation.priorities", "string", "1,2",
     "Phone escalation: incident priorities that start a phone escalation, comma-separated (keep equal to the stack parameter EscalatePriorities).")
prop("x_escalation.groups_include", "string", "",
     "Phone escalation: only incidents of these assignment groups escalate (names or sys_ids, comma-separated; empty = every group).")
prop("x_escalation.integration_user", "string", "svc_escalation",
     "Phone escalation: the integration user (user_name) the Lambdas sign in as; its own writes never cancel an escalation.")
prop("x_escalation.groups_exclude", "string", "",
     "Phone escalation: incidents of these assignment groups never escalate (names or sys_ids, comma-separated).")

record("sysevent_register", "event:" + EVENT, "Event Registration", EVENT, "incident",
       event_name=EVENT, table="incident", fired_by="Business rule: Start phone escalation",
       description="An incident's priority changed: the phone escalation script action decides whether to call.",
       queue="", caller_access="")
record("sys_script", "business-rule", "Business Rule", "Start phone escalation", "incident",
       name="Start phone escalation", collection="incident", active="true", advanced="true",
       when="after", action_insert="true", action_update="true", action_delete="false",
       action_query="false", order="100", priority="100",
       condition="current.priority.changes()", filter_condition="",
       description="Queues x_escalation.escalate when the priority changes; the script action calls the trigger.",
       script=script("start_phone_escalation_br.js"))
record("sysevent_register", "event:" + CANCEL_EVENT, "Event Registration", CANCEL_EVENT, "incident",
       event_name=CANCEL_EVENT, table="incident", fired_by="Business rule: Cancel phone escalation",
       description="An incident of an escalating priority was resolved, closed, canceled, assigned or lowered by someone: the escalation must stop.",
       queue="", caller_access="")
record("sys_script", "business-rule:cancel", "Business Rule", "Cancel phone escalation", "incident",
       name="Cancel phone escalation", collection="incident", active="true", advanced="true",
       when="after", action_insert="false", action_update="true", action_delete="false",
       action_query="false", order="110", priority="100",
       condition="current.state.changes() || current.assigned_to.changes() || current.priority.changes()",
       filter_condition="",
       description="Queues x_escalation.cancel when someone else handles an incident under escalation; the script action tells the trigger.",
       script=script("cancel_phone_escalation_br.js"))
record("sysevent_script_action", "script-action:cancel", "Script Action", "Phone escalation: send cancel", "",
       name="Phone escalation: send cancel", event_name=CANCEL_EVENT, active="true", order="100",
       condition_script="", description="Signs the cancel and POSTs it to the escalation trigger (AWS Lambda).",
       script=script("cancel_trigger.js"))
record("sysevent_script_action", "script-action", "Script Action", "Phone escalation: send trigger", "",
       name="Phone escalation: send trigger", event_name=EVENT, active="true", order="100",
       condition_script="", description="Signs the incident and POSTs it to the escalation trigger (AWS Lambda).",
       script=script("escalation_trigger.js"))
record("sys_script_include", "script-include:phoneEscalationPost", "Script Include", "phoneEscalationPost", "",
       name="phoneEscalationPost", api_name="global.phoneEscalationPost", active="true",
       client_callable="false", access="package_private",
       description="Phone escalation: signs a request with x_escalation.hmac_key_b64 and POSTs it to the trigger through the REST message (used by the script action and the heartbeat job).",
       script=script("phone_escalation_post.js"))
record("sysauto_script", "heartbeat", "Scheduled Script Execution", "Phone escalation: heartbeat", "",
       name="Phone escalation: heartbeat", active="true", run_type="periodically",
       run_period="1970-01-01 00:15:00", run_start=STAMP, conditional="false", condition="",
       description="Every 15 minutes, a signed heartbeat to the trigger through the same REST message: the stack alarms when it stops (keep HeartbeatMinutes at 15).",
       script=script("heartbeat.js"))
rest = record("sys_rest_message", "rest-message", "REST Message", REST_MESSAGE, "",
              name=REST_MESSAGE, rest_endpoint="https://x-escalation-trigger-url.invalid/",
              authentication_type="no_authentication", use_mid_server="false",
              description="Phone escalation: the trigger's function URL. The script action sets the endpoint from x_escalation.trigger_url and signs each request itself.")
record("sys_rest_message_fn", "rest-message-fn:Send", "HTTP Method", REST_MESSAGE + ": Send", "",
       function_name="Send", rest_message=(rest, REST_MESSAGE), http_method="post",
       rest_endpoint="https://x-escalation-trigger-url.invalid/",
       authentication_type="inherit_from_parent", use_mid_server="false")
API = "Phone escalation"
API_BASE = "/api/x_escalation/phone_escalation"
ONCALL_PATH = API_BASE + "/oncall"
role = record("sys_user_role", "role", "Role", ROLE, "",
              name=ROLE, suffix="integration", elevated_privilege="false", assignable_by="",
              description="Phone escalation integration user (svc_escalation): reads incidents and users, writes work notes, state and assignment, opens incidents for the escalation line. Nothing else.")

# What the Lambdas do on the Table API, and nothing more.
ACLS = [
    ("incident", "read", "reads an incident (state, priority) and finds incidents by correlation_id"),
    ("incident", "write", "writes work_notes, state, assigned_to and assignment_group"),
    ("incident", "create", "the escalation line opens incidents for callers"),
    ("sys_user", "read", "turns a roster entry's sn_user into a sys_id for assigned_to"),
    ("sys_journal_field", "read", "checks whether a work note was already written (no duplicates after a retry)"),
]
for table, operation, why in ACLS:
    acl = record("sys_security_acl", f"acl:{table}:{operation}", "Access Control", f"{table} {operation}", table,
                 name=table, operation=(operation, operation), type=("record", "record"), active="true",
                 admin_overrides="true", advanced="false", condition="", script=None,
                 description=f"Phone escalation: {ROLE} {why}.")
    record("sys_security_acl_role", f"acl-role:{table}:{operation}", "Access Control Role", f"{table} {operation}: {ROLE}", table,
           sys_security_acl=(acl, table), sys_user_role=(role, ROLE))

# The On-Call plan API the trigger asks who to call (docs/POLICIES.md, "The On-Call API"):
# callable only with the integration role.
api_acl = record("sys_security_acl", "acl:rest:oncall", "Access Control", ONCALL_PATH, "",
                 name=ONCALL_PATH, operation=("execute", "execute"), type=("rest_endpoint", "REST_Endpoint"),
                 active="true", admin_overrides="true", advanced="false", condition="", script=None,
                 description=f"Phone escalation: {ROLE} may call the On-Call plan API.")
record("sys_security_acl_role", "acl-role:rest:oncall", "Access Control Role", f"{ONCALL_PATH}: {ROLE}", "",
       sys_security_acl=(api_acl, ONCALL_PATH), sys_user_role=(role, ROLE))
api = record("sys_ws_definition", "rest-api", "Scripted REST API", API, "",
             name=API, service_id="phone_escalation", namespace="x_escalation", base_uri=API_BASE,
             active="true", is_versioned="false", consumes="application/json", produces="application/json",
             enforce_acl=api_acl, short_description="Phone escalation: who ServiceNow On-Call escalates to for a group at an instant, with voice numbers.")
record("sys_ws_operation", "rest-api:oncall", "Scripted REST Resource", API + ": On-Call plan", "",
       name="On-Call plan", web_service_definition=(api, API), http_method="GET", relative_path="/oncall",
       operation_uri=ONCALL_PATH, active="true", requires_authentication="true", requires_acl_authorization="true",
       enforce_acl=api_acl, produces="application/json", consumes="application/json",
       short_description="GET ?group=<sys_id or name>&at=<yyyy-MM-dd HH:mm:ss UTC>: the escalation plan (OnCallRotation.getEscalationPlan) with each escalatee's user and voice number.",
       operation_script=script("oncall_plan_api.js"))


def payload(table, fields):
    body = "".join(field(k, v) for k, v in fields.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><record_update table="{table}">'
            f'<{table} action="INSERT_OR_UPDATE">{body}</{table}></record_update>')


def main(out):
    set_id = sys_id("update-set")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<unload unload_date="{STAMP}">',
             '<sys_remote_update_set action="INSERT_OR_UPDATE">',
             '<application display_value="Global">global</application>',
             '<application_name>Global</application_name>', '<application_scope>global</application_scope>',
             field("description", "ServiceNow side of the phone escalation: business rule, event and script action "
                   "(signed call to the AWS trigger), system properties, REST message, the On-Call plan API "
                   "(Scripted REST), and the role of the integration user with its ACLs. Install guide: infra/servicenow/README.md."),
             field("name", UPDATE_SET), "<origin_sys_id/>", "<release_date/>",
             field("remote_sys_id", set_id), "<state>loaded</state>",
             "<sys_class_name>sys_remote_update_set</sys_class_name>",
             field("sys_created_by", "admin"), field("sys_created_on", STAMP), field("sys_id", set_id),
             "<sys_mod_count>0</sys_mod_count>", field("sys_updated_by", "admin"), field("sys_updated_on", STAMP),
             "</sys_remote_update_set>"]
    for table, sid, label, target, target_table, fields in RECORDS:
        text = payload(table, fields)
        lines += ['<sys_update_xml action="INSERT_OR_UPDATE">', "<action>INSERT_OR_UPDATE</action>",
                  '<application display_value="Global">global</application>', "<category>customer</category>",
                  field("name", f"{table}_{sid}"), field("payload", text),
                  field("payload_hash", str(int(hashlib.md5(text.encode()).hexdigest()[:8], 16))),
                  f"<remote_update_set display_value={quoteattr(UPDATE_SET)}>{set_id}</remote_update_set>",
                  "<replace_on_upgrade>false</replace_on_upgrade>",
                  field("sys_created_by", "admin"), field("sys_created_on", STAMP),
                  field("sys_id", sys_id("update:" + table + ":" + sid)), "<sys_mod_count>0</sys_mod_count>",
                  field("sys_recorded_at", "19bd8a1e0000001"), field("sys_updated_by", "admin"),
                  field("sys_updated_on", STAMP), field("table", target_table), field("target_name", target),
                  field("type", label), "<update_domain>global</update_domain>",
                  field("update_guid", sys_id("guid:" + sid)), "</sys_update_xml>"]
    lines.append("</unload>")
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {out}: {len(RECORDS)} records")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else OUT)
