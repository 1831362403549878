// Runs infra/servicenow/escalation_trigger_br.js the way a ServiceNow async business rule runs,
// with small stand-ins for the Glide APIs it uses, and prints what it did as JSON:
//   {"requests": [{endpoint, method, headers, body, timeout_ms}], "logs": [[level, text]],
//    "work_notes": [{table, sys_id, text, workflow}]}
//
// usage: node business_rule_harness.js RULE.js CONFIG_JSON
//   CONFIG_JSON = {"properties": {name: value}, "incident": {field: value}, "now_ms": n,
//                  "response": {"status": n, "body": "...", "error": "..."}}
//
// generateMac stands in for GlideCertificateEncryption/CertificateEncryption.generateMac(key,
// "HmacSHA256", data): the key argument is base64 and is decoded to the raw key bytes, the MAC
// is computed over the UTF-8 bytes of data, and the result is base64 (DESIGN §5).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const vm = require('vm');

const [rulePath, configJson] = process.argv.slice(2);
if (!rulePath || !configJson) {
    process.stderr.write('usage: node business_rule_harness.js RULE.js CONFIG_JSON\n');
    process.exit(2);
}
const cfg = JSON.parse(configJson);
const out = { requests: [], logs: [], work_notes: [] };

const gs = {
    getProperty(name, fallback) {
        return Object.prototype.hasOwnProperty.call(cfg.properties, name) ? cfg.properties[name] : fallback;
    },
    info(m) { out.logs.push(['info', String(m)]); },
    warn(m) { out.logs.push(['warn', String(m)]); },
    error(m) { out.logs.push(['error', String(m)]); },
    getUserName() { return 'admin'; },
    generateGUID() { return crypto.randomBytes(16).toString('hex'); },
};

function GlideDateTime() {}
GlideDateTime.prototype.getNumericValue = function () { return cfg.now_ms; };

function GlideCertificateEncryption() {}
GlideCertificateEncryption.prototype.generateMac = function (keyB64, algorithm, data) {
    if (algorithm !== 'HmacSHA256') {
        throw new Error('generateMac stand-in supports HmacSHA256 only, got ' + algorithm);
    }
    return crypto.createHmac('sha256', Buffer.from(String(keyB64), 'base64'))
        .update(String(data), 'utf8')
        .digest('base64');
};

function RESTMessageV2() { this.req = { headers: {} }; }
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
    };
};

function GlideRecord(table) { this.table = table; }
GlideRecord.prototype.get = function (id) { this.sys_id = id; return true; };
GlideRecord.prototype.setWorkflow = function (on) { this.workflow = on; };
GlideRecord.prototype.update = function () {
    out.work_notes.push({ table: this.table, sys_id: this.sys_id, text: String(this.work_notes), workflow: this.workflow });
};

const current = {
    getValue(field) {
        const v = cfg.incident[field];
        return v === undefined ? null : v;
    },
    getUniqueValue() { return cfg.incident.sys_id; },
};

const sandbox = {
    gs,
    GlideDateTime,
    GlideCertificateEncryption,
    GlideRecord,
    sn_ws: { RESTMessageV2 },
    current,
    previous: null,
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(rulePath, 'utf8'), sandbox, { filename: rulePath });
process.stdout.write(JSON.stringify(out));
