// Runs one of the ServiceNow scripts in infra/servicenow/ the way the instance runs it, with
// small stand-ins for the Glide APIs they use, and prints what the script did as JSON:
//   {"requests": [{endpoint, method, rest_message, rest_method, headers, body, timeout_ms}],
//    "logs": [[level, text]], "work_notes": [{table, sys_id, text, workflow}],
//    "events": [{name, sys_id, parm1, parm2, at_ms?}]}   (at_ms: gs.eventQueueScheduled)
//
// usage: node business_rule_harness.js SCRIPT.js CONFIG_JSON [INCLUDE.js ...]
//   INCLUDE.js: Script Includes, loaded first (the instance makes a global one available to
//   every server script)
//   CONFIG_JSON = {"properties": {name: value}, "incident": {field: value},
//                  "display": {field: display value}, "previous": {field: value} | null,
//                  "event": {"parm1": "...", "parm2": "..."}, "now_ms": n,
//                  "user": user_name (default admin), "user_display": its name,
//                  "response": {"status": n, "body": "...", "error": "...", "throw": "...",
//                               "headers": {name: value}}}
//
// generateMac stands in for GlideCertificateEncryption/CertificateEncryption.generateMac(key,
// "HmacSHA256", data): the key argument is base64 and is decoded to the raw key bytes, the MAC
// is computed over the UTF-8 bytes of data, and the result is base64.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const vm = require('vm');

const [scriptPath, configJson, ...includes] = process.argv.slice(2);
if (!scriptPath || !configJson) {
    process.stderr.write('usage: node business_rule_harness.js SCRIPT.js CONFIG_JSON [INCLUDE.js ...]\n');
    process.exit(2);
}
const cfg = JSON.parse(configJson);
const out = { requests: [], logs: [], work_notes: [], events: [] };

const gs = {
    getProperty(name, fallback) {
        return Object.prototype.hasOwnProperty.call(cfg.properties, name) ? cfg.properties[name] : fallback;
    },
    debug(m) { out.logs.push(['debug', String(m)]); },
    info(m) { out.logs.push(['info', String(m)]); },
    warn(m) { out.logs.push(['warn', String(m)]); },
    error(m) { out.logs.push(['error', String(m)]); },
    getUserName() { return cfg.user || 'admin'; },
    getUserDisplayName() { return cfg.user_display || 'System Administrator'; },
    generateGUID() { return crypto.randomBytes(16).toString('hex'); },
    eventQueue(name, record, parm1, parm2) {
        out.events.push({ name: String(name), sys_id: record.getUniqueValue(), parm1: String(parm1), parm2: String(parm2) });
    },
    eventQueueScheduled(name, record, parm1, parm2, when) {
        out.events.push({ name: String(name), sys_id: record.getUniqueValue(), parm1: String(parm1), parm2: String(parm2), at_ms: when.getNumericValue() });
    },
};

function GlideDateTime() { this.ms = cfg.now_ms; }
GlideDateTime.prototype.getNumericValue = function () { return this.ms; };
GlideDateTime.prototype.addSeconds = function (s) { this.ms += s * 1000; };

function GlideCertificateEncryption() {}
GlideCertificateEncryption.prototype.generateMac = function (keyB64, algorithm, data) {
    if (algorithm !== 'HmacSHA256') {
        throw new Error('generateMac stand-in supports HmacSHA256 only, got ' + algorithm);
    }
    return crypto.createHmac('sha256', Buffer.from(String(keyB64), 'base64'))
        .update(String(data), 'utf8')
        .digest('base64');
};

function RESTMessageV2(name, method) {
    this.req = { headers: {}, rest_message: name === undefined ? null : String(name), rest_method: method === undefined ? null : String(method) };
}
RESTMessageV2.prototype.setEndpoint = function (url) { this.req.endpoint = String(url); };
RESTMessageV2.prototype.setHttpMethod = function (m) { this.req.method = String(m); };
RESTMessageV2.prototype.setRequestHeader = function (k, v) { this.req.headers[String(k)] = String(v); };
RESTMessageV2.prototype.setRequestBody = function (b) { this.req.body = String(b); };
RESTMessageV2.prototype.setHttpTimeout = function (ms) { this.req.timeout_ms = ms; };
RESTMessageV2.prototype.setLogLevel = function () {};
RESTMessageV2.prototype.execute = function () {
    out.requests.push(this.req);
    const r = cfg.response || { status: 202, body: '{}' };
    if (r.throw) {
        throw new Error(r.throw);
    }
    return {
        getStatusCode() { return r.status; },
        getBody() { return r.body || ''; },
        getErrorMessage() { return r.error || ''; },
        getHeader(name) { return (r.headers || {})[name] || null; },
    };
};

function GlideRecord(table) { this.table = table; }
GlideRecord.prototype.get = function (id) { this.sys_id = id; return true; };
GlideRecord.prototype.setWorkflow = function (on) { this.workflow = on; };
GlideRecord.prototype.update = function () {
    out.work_notes.push({ table: this.table, sys_id: this.sys_id, text: String(this.work_notes), workflow: this.workflow === undefined ? null : this.workflow });
};

function record(fields, display) {
    return {
        getValue(field) {
            const v = fields[field];
            return v === undefined ? null : v;
        },
        getDisplayValue(field) {
            const v = (display || {})[field];
            return v === undefined ? '' : v;
        },
        getUniqueValue() { return fields.sys_id; },
    };
}

const sandbox = {
    gs,
    GlideDateTime,
    GlideCertificateEncryption,
    GlideRecord,
    sn_ws: { RESTMessageV2 },
    current: record(cfg.incident, cfg.display),
    previous: cfg.previous ? record(cfg.previous) : null,
    event: cfg.event || null,
};
vm.createContext(sandbox);
for (const include of includes) {
    vm.runInContext(fs.readFileSync(include, 'utf8'), sandbox, { filename: include });
}
vm.runInContext(fs.readFileSync(scriptPath, 'utf8'), sandbox, { filename: scriptPath });
process.stdout.write(JSON.stringify(out));
