// Runs infra/servicenow/oncall_plan_api.js (a Scripted REST resource) the way the instance
// runs it, with small stand-ins for the APIs it uses, and prints the answer as JSON:
//   {"status": n, "body": {...}}   (body as the instance sends it: wrapped in "result"),
//   or {"status": n, "error": {"message", "detail"}} for an sn_ws_err.ServiceError.
//
// usage: node oncall_api_harness.js SCRIPT.js CONFIG_JSON
//   CONFIG_JSON = {"query": {name: value},
//                  "tables": {"sys_user_group": [{sys_id, name}], "sys_user": [{sys_id, name,
//                             mobile_phone, phone}], "cmn_rota": [{sys_id, group, active}]},
//                  "plan": [getEscalationPlan's entries], "contacts": {userId: [entries]}}
'use strict';
const fs = require('fs');
const vm = require('vm');

const [scriptPath, configJson] = process.argv.slice(2);
const cfg = JSON.parse(configJson);
const tables = cfg.tables || {};
const out = { status: 0 };
const seen = { plan_args: null };

class GlideRecord {
    constructor(table) { this.table = table; this.rows = tables[table] || []; this.filters = []; this.row = null; this.found = []; }
    get(a, b) {
        const [field, value] = b === undefined ? ['sys_id', a] : [a, b];
        this.row = this.rows.find(r => String(r[field]) === String(value)) || null;
        return this.row !== null;
    }
    addQuery(f, v) { this.filters.push([f, v]); }
    addActiveQuery() { this.filters.push(['active', 'true']); }
    setLimit() {}
    query() { this.found = this.rows.filter(r => this.filters.every(([f, v]) => String(r[f]) === String(v))); }
    hasNext() { return this.found.length > 0; }
    getValue(f) { return this.row && this.row[f] !== undefined ? String(this.row[f]) : null; }
    getUniqueValue() { return this.getValue('sys_id'); }
}

class GlideDateTime {
    setValueUTC(v, fmt) { this.value = v; this.format = fmt; }
}

class OnCallRotation {
    getEscalationPlan(group, gdt) { seen.plan_args = [group, gdt.value]; return cfg.plan || []; }
}

class OnCallContactPreferenceUtil {
    getContactsAtByEscalatee(escalatee) { return (cfg.contacts || {})[escalatee.userId] || []; }
}

class ServiceError {
    setStatus(s) { this.status = s; }
    setMessage(m) { this.message = m; }
    setDetail(d) { this.detail = d; }
}

const response = {
    setStatus(s) { out.status = s; },
    setBody(b) { out.body = { result: JSON.parse(JSON.stringify(b)) }; },
};
const request = { queryParams: cfg.query || {} };

const sandbox = {
    GlideRecord, GlideDateTime, OnCallRotation, OnCallContactPreferenceUtil,
    sn_ws_err: { ServiceError }, request, response,
};
// The instance runs the resource script as the body of a function and sends a returned
// ServiceError as the error envelope.
const body = fs.readFileSync(scriptPath, 'utf8');
const returned = vm.runInNewContext(`(function () { return (\n${body.trim().replace(/;$/, '')}\n); })()`, sandbox);
if (returned instanceof ServiceError || (returned && returned.setDetail)) {
    out.status = returned.status;
    out.error = { message: returned.message, detail: returned.detail };
}
out.plan_args = seen.plan_args;
process.stdout.write(JSON.stringify(out));
