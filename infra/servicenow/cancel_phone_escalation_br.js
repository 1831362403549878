/*
 * Business rule "Cancel phone escalation" on Incident [incident]: after update, condition
 * `current.state.changes() || current.assigned_to.changes() || current.priority.changes()`.
 *
 * Someone other than the integration user (x_escalation.integration_user, default
 * svc_escalation) handled an incident of an escalating priority while we may be calling
 * about it: it was resolved, closed or canceled, assigned to someone, or lowered below the
 * escalating priorities (x_escalation.priorities). The rule queues x_escalation.cancel;
 * its script action (cancel_trigger.js) sends a signed cancel to the trigger, which ends
 * the escalation, hangs up the ringing call and notes why. The trigger answers 200 when the
 * incident has no escalation, so the rule need not know whether one is running.
 *
 * An after rule, so that `previous` and changes() are reliable. The integration user's
 * own writes (the acceptance sets assigned_to and state) never cancel.
 *   parm1 = the reason: resolved | closed | canceled | assigned | priority_lowered
 *   parm2 = JSON {detail, by}: the assignee's name or the new priority, and who saved it
 */
(function executeRule(current, previous) {
    var PREFIX = 'x_escalation.';
    var integrationUser = String(gs.getProperty(PREFIX + 'integration_user', 'svc_escalation') || '');
    if (String(gs.getUserName()) === integrationUser || !previous) {
        return;
    }
    var priorities = String(gs.getProperty(PREFIX + 'priorities', '1,2') || '').split(',');
    var escalates = function (p) {
        for (var i = 0; i < priorities.length; i++) {
            if (priorities[i].trim() === String(p || '')) {
                return true;
            }
        }
        return false;
    };
    var before = function (f) { return String(previous.getValue(f) || ''); };
    var after = function (f) { return String(current.getValue(f) || ''); };
    if (!escalates(before('priority')) && !escalates(after('priority'))) {
        return;
    }
    var ENDING_STATES = { '6': 'resolved', '7': 'closed', '8': 'canceled' };
    var reason = null;
    var detail = null;
    if (before('state') !== after('state') && ENDING_STATES[after('state')]) {
        reason = ENDING_STATES[after('state')];
    } else if (before('assigned_to') !== after('assigned_to') && after('assigned_to')) {
        reason = 'assigned';
        detail = String(current.getDisplayValue('assigned_to') || '') || null;
    } else if (before('priority') !== after('priority') && escalates(before('priority')) &&
        !escalates(after('priority'))) {
        reason = 'priority_lowered';
        detail = after('priority');
    }
    if (!reason) {
        return;
    }
    gs.eventQueue('x_escalation.cancel', current, reason,
        JSON.stringify({ detail: detail, by: String(gs.getUserDisplayName() || '') || null }));
})(current, previous);
