// Phone escalation: On-Call plan (Scripted REST API "Phone escalation", resource GET /oncall).
//
//   GET /api/x_escalation/phone_escalation/oncall?group=<sys_id or name>&at=<yyyy-MM-dd HH:mm:ss, UTC>
//
// Answers who ServiceNow On-Call Scheduling escalates to for the group at that instant, in
// order, with each person's voice number: OnCallRotation.getEscalationPlan computes the
// rotations, overrides and time off; OnCallContactPreferenceUtil gives the numbers. The
// AWS trigger calls it (budget 2 s) and falls back to its stored policies when this fails.
// The JSON contract is in docs/POLICIES.md ("The On-Call API").
(function process(/*RESTAPIRequest*/ request, /*RESTAPIResponse*/ response) {
    var SYS_ID = /^[0-9a-f]{32}$/;

    function param(name) {
        var v = request.queryParams[name];
        if (v === undefined || v === null) return '';
        if (typeof v === 'object' && v.length !== undefined) v = v[0];
        return String(v).trim();
    }

    function fail(status, message, detail) {
        var err = new sn_ws_err.ServiceError();
        err.setStatus(status);
        err.setMessage(message);
        err.setDetail(detail || '');
        return err;
    }

    // "+1 (415) 555-0101" -> "+14155550101"; anything not starting with + is returned as is
    // (the trigger refuses it: numbers must be E.164).
    function e164(raw) {
        var s = raw ? String(raw).trim() : '';
        return s.charAt(0) === '+' ? s.replace(/[\s().-]/g, '') : s;
    }

    function seconds(d) {
        if (d === undefined || d === null || d === '') return null;
        var ms = typeof d.getNumericValue === 'function' ? d.getNumericValue() : parseInt(d, 10);
        return isNaN(ms) ? null : Math.round(ms / 1000);
    }

    // The first voice number of the escalatee's contact preferences at this instant, else
    // the user's mobile phone.
    function voiceOf(escalatee, user, gdt) {
        if (typeof OnCallContactPreferenceUtil !== 'undefined') {
            var contacts = new OnCallContactPreferenceUtil().getContactsAtByEscalatee(escalatee, 1, gdt) || [];
            for (var i = 0; i < contacts.length; i++) {
                var lists = [contacts[i].contact_preferences || [], contacts[i].user_preferences || []];
                for (var l = 0; l < lists.length; l++) {
                    for (var j = 0; j < lists[l].length; j++) {
                        if (lists[l][j].type === 'voice' && lists[l][j].number) return lists[l][j].number;
                    }
                }
            }
        }
        return user ? user.getValue('mobile_phone') || user.getValue('phone') || '' : '';
    }

    var groupParam = param('group');
    var at = param('at');
    if (!groupParam) return fail(400, 'group is required', 'the assignment group, by sys_id or name');
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(at)) {
        return fail(400, 'at must be yyyy-MM-dd HH:mm:ss (UTC)', 'got "' + at + '"');
    }
    var group = new GlideRecord('sys_user_group');
    if (!(SYS_ID.test(groupParam) && group.get(groupParam)) && !group.get('name', groupParam)) {
        // Not a group this instance knows: it has no schedule (the trigger asks its policies).
        response.setStatus(200);
        response.setBody({ group: groupParam, group_sys_id: '', at: at, has_schedule: false, escalatees: [] });
        return;
    }
    var gdt = new GlideDateTime();
    gdt.setValueUTC(at, 'yyyy-MM-dd HH:mm:ss');

    var rota = new GlideRecord('cmn_rota');
    rota.addQuery('group', group.getUniqueValue());
    rota.addActiveQuery();
    rota.setLimit(1);
    rota.query();
    var hasSchedule = rota.hasNext();

    var escalatees = [];
    if (hasSchedule) {
        var plan = new OnCallRotation().getEscalationPlan(group.getUniqueValue(), gdt) || [];
        for (var i = 0; i < plan.length; i++) {
            var step = plan[i];
            if (step.isDevice || !step.userId) continue; // a device is not a person to assign
            var user = new GlideRecord('sys_user');
            var known = user.get(String(step.userId));
            escalatees.push({
                order: parseInt(step.order, 10) || i + 1,
                user_sys_id: String(step.userId),
                name: known ? user.getValue('name') : '',
                voice: e164(voiceOf(step, known ? user : null, gdt)),
                time_to_next_step_secs: seconds(step.timeToNextStep),
                is_override: step.isOverride === true || String(step.isOverride) === 'true',
                rota: step.rotaId ? String(step.rotaId) : ''
            });
        }
    }
    response.setStatus(200);
    response.setBody({
        group: group.getValue('name'),
        group_sys_id: group.getUniqueValue(),
        at: at,
        has_schedule: hasSchedule,
        escalatees: escalatees
    });
})(request, response);
