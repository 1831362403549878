/*
 * Script action "Phone escalation: send trigger" on the event x_escalation.escalate (queued by
 * the business rule "Start phone escalation", start_phone_escalation_br.js). It runs on a
 * scheduler worker with `current` = the incident and `event.parm1` = the priority the
 * incident changed to. Installed by phone_escalation_update_set.xml; README.md beside this
 * file is the install guide.
 *
 * It sends nothing (and logs why at debug level) when:
 *   - the new priority is not in x_escalation.priorities (default "1,2");
 *   - x_escalation.groups_include is set and the assignment group is not in it;
 *   - the assignment group is in x_escalation.groups_exclude;
 *   - the incident was opened by the escalation line for a caller who was already put
 *     through to the on-call person (correlation_display = phone-escalation-inbound).
 * Group lists are comma-separated group names or sys_ids.
 *
 * Otherwise it POSTs the incident to the escalation trigger (an AWS Lambda function URL),
 * signed with HMAC-SHA256:
 *
 *   body      = JSON {sys_id, number, short_description, priority, assignment_group,
 *               assignment_group_name, event_id}; all strings; the group fields are null when
 *               the incident has no group; event_id is fresh for every send
 *   timestamp = unix time in SECONDS, as a decimal string
 *   signature = base64(HMAC-SHA256(base64decode(key_b64), timestamp + "." + body))
 *   headers   = Content-Type: application/json
 *               X-Signature-Timestamp: <timestamp>
 *               X-Signature: <signature>
 *
 * The trigger recomputes the MAC over the exact body bytes it receives and rejects a bad
 * signature or a timestamp more than 5 minutes away from its clock. A rule that fires twice
 * is fine: the trigger keeps one escalation per incident.
 *
 * Configuration (system properties of the update set, never hard-coded here):
 *   x_escalation.trigger_url     (string)     https://<id>.lambda-url.<region>.on.aws/
 *   x_escalation.hmac_key_b64    (password2)  base64 key; the SAME string is
 *                                             trigger_hmac_key in the AWS secret
 *   x_escalation.priorities      (string)     priorities that escalate, e.g. "1,2"
 *   x_escalation.groups_include  (string)     only these assignment groups (empty: all)
 *   x_escalation.groups_exclude  (string)     never these assignment groups
 * The request goes through the REST message "Phone escalation trigger" (method "Send"), so
 * it shows in System Logs > Outbound HTTP Requests like any integration.
 *
 * A send that failed for a reason that may pass (no answer or a timeout, 429, 5xx) is tried
 * again later: the script action queues its own event again with gs.eventQueueScheduled,
 * after 30 s, 1, 2 and 4 minutes (or the Retry-After the trigger sent, if longer), 5 tries in
 * about 8 minutes. Every try carries the same event_id and a fresh timestamp and signature,
 * so a retry of a request the trigger had accepted gets 200 with the escalation it already
 * has, never a second call and never a replay rejection. The scheduled event (not a
 * gs.sleep loop) keeps no scheduler worker waiting and survives a node restart; a Flow with
 * a retry policy would need IntegrationHub, which many instances do not have. The retry
 * state travels in parm2 as "retry:<try>:<event_id>".
 *
 * On a failure that will not pass (missing property, another 4xx) or after the last try, it
 * logs with gs.error and adds a work note to the incident. The note is an ordinary update
 * (audited, business rules run): it does not change the priority, so it never queues this
 * event again.
 */
(function sendPhoneEscalation(current, event) {
    var LOG_PREFIX = '[PhoneEscalation] ';
    var PREFIX = 'x_escalation.';
    var URL_PROPERTY = PREFIX + 'trigger_url';
    var KEY_PROPERTY = PREFIX + 'hmac_key_b64';
    var HTTP_TIMEOUT_MS = 10000;
    var INBOUND_PUT_THROUGH = 'phone-escalation-inbound';
    var EVENT_NAME = 'x_escalation.escalate';
    var MAX_TRIES = 5;
    var BACKOFF_SECS = [30, 60, 120, 240];

    var number = String(current.getValue('number') || '');

    function valueOrNull(fieldName) {
        var v = current.getValue(fieldName);
        return (v === null || v === undefined || String(v) === '') ? null : String(v);
    }

    function listProperty(name, fallback) {
        var items = String(gs.getProperty(PREFIX + name, fallback) || '').split(',');
        var out = [];
        for (var i = 0; i < items.length; i++) {
            var item = items[i].trim();
            if (item) {
                out.push(item.toLowerCase());
            }
        }
        return out;
    }

    function skip(reason) {
        gs.debug(LOG_PREFIX + 'Phone escalation not started for ' + number + ': ' + reason);
    }

    function addWorkNote(text) {
        try {
            var gr = new GlideRecord('incident');
            if (gr.get(current.getUniqueValue())) {
                gr.work_notes = text;
                gr.update();
            }
        } catch (noteEx) {
            gs.error(LOG_PREFIX + 'Phone escalation: could not write the work note on ' + number + ': ' + noteEx);
        }
    }

    function fail(logText, noteText) {
        gs.error(LOG_PREFIX + 'Phone escalation for ' + number + ' failed: ' + logText);
        addWorkNote('Phone escalation could not be started: ' + noteText);
    }

    // A retry of an earlier send carries its try number and event id in parm2.
    var retry = /^retry:(\d+):([0-9A-Za-z-]{1,64})$/.exec(String((event && event.parm2) || ''));
    var attempt = retry ? parseInt(retry[1], 10) : 1;

    // A failure that may pass: try again later with the same event id, until the last try.
    function retryOrFail(logText, noteText, retryAfterSecs) {
        if (attempt >= MAX_TRIES) {
            fail(logText + ' (try ' + attempt + ' of ' + MAX_TRIES + ', the last)',
                noteText + ' (after ' + MAX_TRIES + ' tries)');
            return;
        }
        var wait = Math.max(BACKOFF_SECS[attempt - 1], retryAfterSecs || 0);
        var when = new GlideDateTime();
        when.addSeconds(wait);
        gs.eventQueueScheduled(EVENT_NAME, current, priority, 'retry:' + (attempt + 1) + ':' + eventId, when);
        gs.warn(LOG_PREFIX + 'Phone escalation for ' + number + ': ' + logText + '; try ' +
            (attempt + 1) + ' of ' + MAX_TRIES + ' in ' + wait + ' s');
    }

    var priority = String((event && event.parm1) || current.getValue('priority') || '');
    var priorities = listProperty('priorities', '1,2');
    if (priorities.indexOf(priority) < 0) {
        skip('priority ' + priority + ' is not in ' + PREFIX + 'priorities (' + priorities.join(',') + ')');
        return;
    }
    if (String(current.getValue('correlation_display') || '') === INBOUND_PUT_THROUGH) {
        skip('the caller was already put through to the on-call person');
        return;
    }
    var groupId = valueOrNull('assignment_group');
    var groupName = groupId ? String(current.getDisplayValue('assignment_group') || '') || null : null;
    var named = function (list) {
        return (groupId && list.indexOf(groupId.toLowerCase()) >= 0) ||
            (groupName && list.indexOf(groupName.toLowerCase()) >= 0);
    };
    var include = listProperty('groups_include', '');
    if (include.length > 0 && !named(include)) {
        skip('assignment group ' + (groupName || '(none)') + ' is not in ' + PREFIX + 'groups_include');
        return;
    }
    if (named(listProperty('groups_exclude', ''))) {
        skip('assignment group ' + groupName + ' is in ' + PREFIX + 'groups_exclude');
        return;
    }

    var endpoint = String(gs.getProperty(URL_PROPERTY, '') || '').trim();
    var keyB64 = String(gs.getProperty(KEY_PROPERTY, '') || '').trim();
    if (!endpoint || !keyB64) {
        fail('system property ' + (!endpoint ? URL_PROPERTY : KEY_PROPERTY) + ' is empty',
            'system property ' + (!endpoint ? URL_PROPERTY : KEY_PROPERTY) + ' is empty');
        return;
    }

    // One id for every try of this send: a retry the trigger had already taken is answered
    // with the escalation it already has. Two different sends (a quick priority change and a
    // re-send) get different ids, so they never sign the same bytes.
    var eventId = retry ? retry[2] : String(gs.generateGUID());
    var body = JSON.stringify({
        sys_id: String(current.getUniqueValue()),
        number: number,
        short_description: valueOrNull('short_description') || '',
        priority: priority,
        assignment_group: groupId,
        assignment_group_name: groupName,
        event_id: eventId
    });

    try {
        // Signed and sent by the Script Include phoneEscalationPost (phone_escalation_post.js).
        var response = phoneEscalationPost(endpoint, keyB64, body, HTTP_TIMEOUT_MS);
        var status = response.getStatusCode();
        var responseBody = String(response.getBody() || '');

        if (status < 200 || status > 299) {
            var detail = responseBody ? responseBody.substring(0, 200) : String(response.getErrorMessage() || '');
            if (status === 0 || status === 429 || status >= 500) {
                var retryAfter = parseInt(String(response.getHeader('Retry-After') || ''), 10);
                retryOrFail('HTTP ' + status + ' ' + detail, 'HTTP ' + status + ' ' + detail,
                    isNaN(retryAfter) ? 0 : retryAfter);
            } else {
                fail('HTTP ' + status + ' ' + detail, 'HTTP ' + status + ' ' + detail);
            }
            return;
        }

        var escalationId = '';
        try {
            var parsed = JSON.parse(responseBody);
            escalationId = (parsed && parsed.escalation_id) ? String(parsed.escalation_id) : '';
        } catch (parseEx) {
            escalationId = '';
        }
        gs.info(LOG_PREFIX + 'Phone escalation started for ' + number + ': HTTP ' + status +
            ', escalation_id=' + (escalationId || '(not in response)'));
    } catch (ex) {
        var message = (ex && ex.message) ? ex.message : ((ex && ex.getMessage) ? ex.getMessage() : String(ex));
        retryOrFail('exception ' + message, 'HTTP 0 ' + String(message).substring(0, 200), 0);
    }
})(current, event);
