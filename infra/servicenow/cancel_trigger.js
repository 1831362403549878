/*
 * Script action "Phone escalation: send cancel" on the event x_escalation.cancel (queued by
 * the business rule "Cancel phone escalation", cancel_phone_escalation_br.js) with
 * `current` = the incident, parm1 = the reason, parm2 = JSON {detail, by}.
 *
 * POSTs, signed by phoneEscalationPost like every request to the trigger:
 *   {"type": "cancel", sys_id, number, reason, detail, by, event_id}
 * reason: resolved | closed | canceled | assigned | priority_lowered; detail: the assignee's
 * name or the new priority (or null); by: who saved the incident (or null).
 *
 * The trigger ends the escalation (status CANCELLED), hangs up the ringing call and writes a
 * work note saying why; it answers 200 when there is nothing to cancel. On any other answer
 * it logs with gs.error and adds a work note: the escalation may go on calling until someone
 * presses a key (the acceptance of a resolved incident is noted, never written back).
 */
(function sendPhoneEscalationCancel(current, event) {
    var LOG_PREFIX = '[PhoneEscalation] ';
    var PREFIX = 'x_escalation.';
    var HTTP_TIMEOUT_MS = 10000;
    var number = String(current.getValue('number') || '');

    function fail(text) {
        gs.error(LOG_PREFIX + 'Phone escalation cancel for ' + number + ' failed: ' + text);
        try {
            var gr = new GlideRecord('incident');
            if (gr.get(current.getUniqueValue())) {
                gr.work_notes = 'Phone escalation could not be stopped: ' + text +
                    '. Calls may go on; a key pressed on them no longer changes the incident.';
                gr.update();
            }
        } catch (noteEx) {
            gs.error(LOG_PREFIX + 'could not write the work note on ' + number + ': ' + noteEx);
        }
    }

    var extra = {};
    try {
        extra = JSON.parse(String((event && event.parm2) || '{}')) || {};
    } catch (parseEx) {
        extra = {};
    }
    var endpoint = String(gs.getProperty(PREFIX + 'trigger_url', '') || '').trim();
    var keyB64 = String(gs.getProperty(PREFIX + 'hmac_key_b64', '') || '').trim();
    if (!endpoint || !keyB64) {
        fail('system property ' + PREFIX + (!endpoint ? 'trigger_url' : 'hmac_key_b64') + ' is empty');
        return;
    }
    var body = JSON.stringify({
        type: 'cancel',
        sys_id: String(current.getUniqueValue()),
        number: number,
        reason: String((event && event.parm1) || ''),
        detail: extra.detail ? String(extra.detail) : null,
        by: extra.by ? String(extra.by) : null,
        event_id: String(gs.generateGUID())
    });
    try {
        var response = phoneEscalationPost(endpoint, keyB64, body, HTTP_TIMEOUT_MS);
        var status = response.getStatusCode();
        if (status < 200 || status > 299) {
            var detail = String(response.getBody() || response.getErrorMessage() || '').substring(0, 200);
            fail('HTTP ' + status + ' ' + detail);
            return;
        }
        gs.info(LOG_PREFIX + 'Phone escalation cancel sent for ' + number + ': HTTP ' + status);
    } catch (ex) {
        fail('exception ' + ((ex && ex.message) ? ex.message : String(ex)));
    }
})(current, event);
