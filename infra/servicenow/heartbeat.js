/*
 * Scheduled job "Phone escalation: heartbeat" (a Scheduled Script Execution, every 15
 * minutes). It sends a signed heartbeat to the escalation trigger through the same REST
 * message, key and signature as the script action that starts escalations, so that a
 * silent failure of that path (a broken property, an expired key, an instance that can no
 * longer reach AWS) raises the stack's HeartbeatMissing alarm within 30 minutes instead of
 * going unnoticed until the next P1. Installed by phone_escalation_update_set.xml.
 *
 *   body = JSON {type: "heartbeat", event_id, instance}; signed and sent exactly as the
 *          trigger request, by the same Script Include (phone_escalation_post.js):
 *          base64(HMAC-SHA256(key, timestamp + "." + body))
 *
 * The trigger answers 200 and counts the heartbeat; it starts nothing. A failure is logged
 * with gs.error (there is no incident to note it on); the alarm on the AWS side is what
 * tells someone.
 */
(function sendHeartbeat() {
    var LOG_PREFIX = '[PhoneEscalation] ';
    var endpoint = String(gs.getProperty('x_escalation.trigger_url', '') || '').trim();
    var keyB64 = String(gs.getProperty('x_escalation.hmac_key_b64', '') || '').trim();
    if (!endpoint || !keyB64) {
        gs.error(LOG_PREFIX + 'Phone escalation heartbeat not sent: system property ' +
            (!endpoint ? 'x_escalation.trigger_url' : 'x_escalation.hmac_key_b64') + ' is empty');
        return;
    }
    var body = JSON.stringify({
        type: 'heartbeat',
        event_id: String(gs.generateGUID()),
        instance: String(gs.getProperty('instance_name', '') || '')
    });
    try {
        // Signed and sent like the trigger request: the Script Include phoneEscalationPost.
        var response = phoneEscalationPost(endpoint, keyB64, body, 10000);
        var status = response.getStatusCode();
        if (status < 200 || status > 299) {
            gs.error(LOG_PREFIX + 'Phone escalation heartbeat refused: HTTP ' + status + ' ' +
                String(response.getBody() || response.getErrorMessage() || '').substring(0, 200));
        }
    } catch (ex) {
        var message = (ex && ex.message) ? ex.message : String(ex);
        gs.error(LOG_PREFIX + 'Phone escalation heartbeat failed: ' + message);
    }
})();
