/*
 * Business rule: "Start phone escalation"  (see infra/servicenow/README.md for installation)
 *
 *   Table:      Incident [incident]
 *   Advanced:   true
 *   When:       async
 *   Insert:     true      Update: true      (Delete / Query: false)
 *   Order:      100 (any)
 *   Condition (Advanced tab, "Condition" field), exactly:
 *
 *       (current.priority.changesTo(1) || current.priority.changesTo(2))
 *           && current.correlation_display != 'phone-escalation-inbound'
 *
 *   i.e. "priority changes to 1 - Critical or 2 - High", except incidents opened by a caller
 *   who was put straight through to the on-call person (voice-inbound marks those; someone
 *   is already on the phone with them, see docs/INBOUND.md). changesTo() works in the Condition
 *   field but NOT inside an async script body (`previous` is null there), which is why the
 *   filter lives in the condition and not in the script. Because the condition is a *change*
 *   of priority, the Lambda's own PATCHes (work_notes, state, assigned_to) never re-fire it.
 *
 * What it does: POSTs the incident to the escalation trigger (an AWS Lambda function URL),
 * signed with HMAC-SHA256:
 *
 *   body      = JSON {sys_id, number, short_description, priority, assignment_group}; all strings,
 *               assignment_group is null when the incident has no group
 *   timestamp = unix time in SECONDS, as a decimal string
 *   signature = base64(HMAC-SHA256(base64decode(key_b64), timestamp + "." + body))
 *   headers   = Content-Type: application/json
 *               X-Signature-Timestamp: <timestamp>
 *               X-Signature: <signature>
 *
 * The Lambda recomputes the MAC over the exact body bytes it receives and rejects a bad
 * signature or a timestamp more than 5 minutes away from its clock. Duplicated calls (a rule
 * that fires twice) are fine: the Lambda keeps one escalation per incident.
 *
 * Configuration (system properties, never hard-coded here):
 *   x_escalation.trigger_url    (string)     https://<id>.lambda-url.<region>.on.aws/
 *   x_escalation.hmac_key_b64   (password2)  base64 key, e.g. from `openssl rand -base64 32`;
 *                                            the SAME string is `trigger_hmac_key` in the
 *                                            AWS Secrets Manager secret.
 *
 * Scope: written for the GLOBAL scope (GlideCertificateEncryption). In a scoped application
 * use the scoped API instead:  new CertificateEncryption().generateMac(key, "HmacSHA256", data)
 * (same arguments, same base64 result) and prefix the property names with your scope.
 *
 * On failure (missing property, non-2xx answer, exception) the rule logs with gs.error and
 * adds a work note to the incident, written with setWorkflow(false) so that no business rule
 * (this one included) runs again because of it.
 */
(function executeRule(current, previous /* null when async */) {
    var LOG_PREFIX = '[PhoneEscalation] ';
    var URL_PROPERTY = 'x_escalation.trigger_url';
    var KEY_PROPERTY = 'x_escalation.hmac_key_b64';
    var HTTP_TIMEOUT_MS = 10000;

    function valueOrNull(fieldName) {
        var v = current.getValue(fieldName);
        return (v === null || v === undefined || String(v) === '') ? null : String(v);
    }

    function addWorkNote(text) {
        try {
            var gr = new GlideRecord('incident');
            if (gr.get(current.getUniqueValue())) {
                gr.work_notes = text;
                gr.setWorkflow(false); // no business rules, no re-trigger of this rule
                gr.update();
            }
        } catch (noteEx) {
            gs.error(LOG_PREFIX + 'Phone escalation: could not write the work note on ' + current.getValue('number') +
                ': ' + noteEx);
        }
    }

    function fail(logText, noteText) {
        gs.error(LOG_PREFIX + 'Phone escalation for ' + current.getValue('number') + ' failed: ' + logText);
        addWorkNote('Phone escalation could not be started: ' + noteText);
    }

    var endpoint = String(gs.getProperty(URL_PROPERTY, '') || '').trim();
    var keyB64 = String(gs.getProperty(KEY_PROPERTY, '') || '').trim();
    if (!endpoint || !keyB64) {
        gs.error(LOG_PREFIX + 'Phone escalation for ' + current.getValue('number') + ' not started: system property ' +
            (!endpoint ? URL_PROPERTY : KEY_PROPERTY) + ' is empty');
        return;
    }

    var body = JSON.stringify({
        sys_id: String(current.getUniqueValue()),
        number: valueOrNull('number') || '',
        short_description: valueOrNull('short_description') || '',
        priority: valueOrNull('priority') || '',
        assignment_group: valueOrNull('assignment_group'),
        // A fresh id per send: two sends in the same second (a quick priority change and a
        // re-send) sign different bytes, so the trigger never takes one for a replay.
        event_id: String(gs.generateGUID())
    });
    // Unix time in seconds (getNumericValue() is milliseconds since the epoch, UTC).
    var timestamp = String(Math.floor(new GlideDateTime().getNumericValue() / 1000));

    try {
        var signature = new GlideCertificateEncryption().generateMac(keyB64, 'HmacSHA256', timestamp + '.' + body);

        var request = new sn_ws.RESTMessageV2();
        request.setEndpoint(endpoint);
        request.setHttpMethod('post');
        request.setRequestHeader('Content-Type', 'application/json');
        request.setRequestHeader('Accept', 'application/json');
        request.setRequestHeader('X-Signature-Timestamp', timestamp);
        request.setRequestHeader('X-Signature', String(signature));
        request.setRequestBody(body);
        request.setHttpTimeout(HTTP_TIMEOUT_MS);

        var response = request.execute();
        var status = response.getStatusCode();
        var responseBody = String(response.getBody() || '');

        if (status < 200 || status > 299) {
            var detail = responseBody ? responseBody.substring(0, 200) : String(response.getErrorMessage() || '');
            fail('HTTP ' + status + ' ' + detail, 'HTTP ' + status + ' ' + detail);
            return;
        }

        var escalationId = '';
        try {
            var parsed = JSON.parse(responseBody);
            escalationId = (parsed && parsed.escalation_id) ? String(parsed.escalation_id) : '';
        } catch (parseEx) {
            escalationId = '';
        }
        gs.info(LOG_PREFIX + 'Phone escalation started for ' + current.getValue('number') + ': HTTP ' + status +
            ', escalation_id=' + (escalationId || '(not in response)'));
    } catch (ex) {
        var message = (ex && ex.message) ? ex.message : ((ex && ex.getMessage) ? ex.getMessage() : String(ex));
        fail('exception ' + message, 'HTTP 0 ' + String(message).substring(0, 200));
    }
})(current, previous);
