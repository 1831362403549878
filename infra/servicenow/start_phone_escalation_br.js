/*
 * Business rule "Start phone escalation" on Incident [incident]: after insert and update,
 * condition `current.priority.changes()`.
 *
 * An *after* rule, so that the condition sees the change reliably (ServiceNow documents
 * changes() as unreliable in async rules, where `previous` is not available). It does no
 * work itself: it queues the event x_escalation.escalate, whose script action
 * (escalation_trigger.js) decides whether the new priority escalates and calls AWS on a
 * scheduler worker, so the user who saved the incident never waits for the network.
 * parm1 = the priority the incident changed to, parm2 = the one it had before ('' on insert).
 */
(function executeRule(current, previous /* null on insert */) {
    gs.eventQueue('x_escalation.escalate', current, current.getValue('priority'),
        previous ? String(previous.getValue('priority') || '') : '');
})(current, previous);
