/*
 * Script Include "phoneEscalationPost" (global, classless: the include is this one function).
 * The one place that signs and sends a request to the escalation trigger, for the script
 * action (escalation_trigger.js) and the heartbeat job (heartbeat.js). Installed by
 * phone_escalation_update_set.xml.
 *
 *   timestamp = unix time in SECONDS, as a decimal string
 *   signature = base64(HMAC-SHA256(base64decode(keyB64), timestamp + "." + body))
 *   POST endpoint through the REST message "Phone escalation trigger" (method Send) with
 *   Content-Type and Accept: application/json, X-Signature-Timestamp and X-Signature
 *
 * Returns the RESTResponseV2; throws what generateMac or execute() throw.
 */
function phoneEscalationPost(endpoint, keyB64, body, timeoutMs) {
    var REST_MESSAGE = 'Phone escalation trigger';
    var REST_METHOD = 'Send';
    // Unix time in seconds (getNumericValue() is milliseconds since the epoch, UTC).
    var timestamp = String(Math.floor(new GlideDateTime().getNumericValue() / 1000));
    var signature = new GlideCertificateEncryption().generateMac(keyB64, 'HmacSHA256', timestamp + '.' + body);

    var request = new sn_ws.RESTMessageV2(REST_MESSAGE, REST_METHOD);
    request.setEndpoint(endpoint);
    request.setHttpMethod('post');
    request.setRequestHeader('Content-Type', 'application/json');
    request.setRequestHeader('Accept', 'application/json');
    request.setRequestHeader('X-Signature-Timestamp', timestamp);
    request.setRequestHeader('X-Signature', String(signature));
    request.setRequestBody(body);
    request.setHttpTimeout(timeoutMs);
    return request.execute();
}
