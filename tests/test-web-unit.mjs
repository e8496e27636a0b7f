// SPDX-License-Identifier: LGPL-2.1-or-later
// Unit tests of the browser page's own logic under node (node --test): the
// forms (as gui/cg-forms.c checks and builds them), the ordered JSON, the
// linked-service transformer against the C one's fixtures and against the
// CLI's output for the cases tests/test-web-unit.sh made.  Run by that
// script with top_srcdir, top_builddir and CG_WEB_DIFF_DIR set.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const src = process.env.top_srcdir;
const build = process.env.top_builddir;
const web = (f) => path.join(src, 'web', f);
const { Forms, parseKeyValues, parsePort, formatKeyValues, propertyToText } = await import(web('cg-forms.js'));
const { parse, serialize, JsonNumber } = await import(web('cg-json.js'));
const { analyse, stripConnectionString, LinkedServiceError } = await import(web('cg-linked-service.js'));
const { format, pickLanguage, stripMnemonic } = await import(web('cg-i18n.js'));
const { ApiError, describeError } = await import(web('cg-api.js'));

const forms = new Forms(JSON.parse(fs.readFileSync(path.join(build, 'web/credential-types.json'), 'utf8')));

test('the types are the desktop app\'s, in its order', () => {
  assert.deepEqual(forms.types.map((t) => t.id),
    ['sqlserver', 'postgresql', 'mysql', 'oracle', 'smb', 'sftp', 'generic']);
  const sql = forms.lookup('sqlserver');
  assert.equal(sql.label, 'SQL Server');
  assert.deepEqual(sql.fields.map((f) => [f.name, f.label, f.required, f.secret, f.kind]), [
    ['server', 'Se_rver', true, false, 'text'],
    ['port', '_Port', false, false, 'port'],
    ['database', '_Database', false, false, 'text'],
    ['user', '_User name', true, false, 'text'],
    ['password', 'Pass_word', true, true, 'password'],
  ]);
  assert.equal(forms.maxLength, 4096);
  assert.equal(forms.lookup('nope'), null);
});

test('names and fields are checked as cg-forms.c checks them', () => {
  assert.equal(forms.checkName(''), 'A name is required.');
  assert.equal(forms.checkName('  '), 'A name is required.');
  assert.equal(forms.checkName('bad name'), 'Use 1 to 128 letters, digits, dots, dashes or underscores.');
  assert.equal(forms.checkName('x'.repeat(129)), 'Use 1 to 128 letters, digits, dots, dashes or underscores.');
  assert.equal(forms.checkName('sql-prod_1.a'), null);
  const [server, port] = forms.lookup('sqlserver').fields;
  assert.equal(forms.checkField(server, ''), 'Server is required.');
  assert.equal(forms.checkField(port, ''), null);
  for (const bad of ['0', '65536', '-1', '+80', ' 80', '80 ', '8o', '1e3']) {
    assert.equal(forms.checkField(port, bad), 'A port is a number from 1 to 65535.', bad);
  }
  for (const good of ['1', '080', '65535']) assert.equal(forms.checkField(port, good), null, good);
  assert.equal(forms.checkField(server, 'é'.repeat(2048)), null);
  assert.equal(forms.checkField(server, 'é'.repeat(2049)), 'This is too long.'); // bytes, as strlen
  const kv = forms.lookup('generic').fields[0];
  assert.equal(forms.checkField(kv, 'a=1\nnope'), 'Line 2 is not of the form key=value.');
  assert.equal(forms.checkField(kv, 'a=1\n\n a = 2'), 'Line 3 repeats the key “a”.');
  assert.equal(forms.checkField(kv, '=x'), 'Line 1 is not of the form key=value.');
  const problems = forms.problems(forms.lookup('postgresql'), 'bad name', { host: 'h' });
  assert.deepEqual(problems.map((p) => p.field), ['name', 'database', 'user', 'password']);
});

test('the body is cg_forms_build_body\'s', () => {
  const body = forms.buildBody(forms.lookup('sqlserver'),
    { server: '  db1  ', port: '01433', database: '', user: 'app', password: '  sp aces ' });
  assert.equal(body.type, 'sqlserver');
  assert.equal(serialize(body.properties, 0), '{"server":"db1","port":1433,"user":"app"}');
  assert.equal(serialize(body.secret, 0), '{"password":"  sp aces "}');
  const g = forms.buildBody(forms.lookup('generic'), { properties: 'b = 2\n1=one\n\n', value: 'v' });
  assert.equal(serialize(g.properties, 0), '{"b":"2","1":"one"}'); // order as typed
  assert.equal(serialize(g.secret, 0), '{"value":"v"}');
  assert.throws(() => forms.buildBody(forms.lookup('sqlserver'), { server: 'x' }),
    (e) => e.field === 'user' && e.message === 'User name is required.');
});

test('helpers', () => {
  assert.equal(parsePort('22'), 22);
  assert.deepEqual([...parseKeyValues(' a = 1 \r\nb=2=3')], [['a', '1'], ['b', '2=3']]);
  assert.equal(formatKeyValues({ a: 'x', n: 5, t: true }), 'a=x\nn=5\nt=true');
  assert.equal(propertyToText(null), '');
  assert.equal(propertyToText({ a: 1 }), '{"a":1}');
  assert.equal(format('%s is %u%%', 'x', 3), 'x is 3%');
  assert.equal(stripMnemonic('Pass_word'), 'Password');
  assert.equal(pickLanguage(['fr-FR', 'nl-BE', 'de']), 'nl');
  assert.equal(pickLanguage(['DE-at']), 'de');
  assert.equal(pickLanguage(['fr']), 'en');
  assert.equal(pickLanguage(undefined), 'en');
});

test('a refused change says why, as the desktop app does', () => {
  // A cluster without quorum (issue 13): its own words, not "the secret
  // store is not available".
  const cluster = describeError(new ApiError(503, 'cluster_unavailable', 'cannot store'));
  assert.match(cluster, /cluster cannot accept changes/);
  assert.match(cluster, /Nothing was changed/);
  assert.match(describeError(new ApiError(503, 'secret_store_locked', 'x')), /locked/);
  assert.match(describeError(new ApiError(409, 'conflict', 'changed meanwhile')), /changed meanwhile/);
});

test('JSON keeps order and refuses what jansson refuses', () => {
  const text = '{"b":1,"10":2,"a":{"2":[],"1":{}},"r":0.5,"e":1e2,"s":"\\u00e9\\n"}';
  assert.equal(serialize(parse(text), 0), '{"b":1,"10":2,"a":{"2":[],"1":{}},"r":0.5,"e":100.0,"s":"é\\n"}');
  assert.equal(serialize(parse('[1,{"a":true}]'), 2), '[\n  1,\n  {\n    "a": true\n  }\n]');
  for (const bad of ['{"a":1,"a":2}', '{"a":1}x', '[1,]', '{"a":"\\u0000"}', '"\x01"', '',
    '99999999999999999999', '{"a" 1}', '[1e999]']) {
    assert.throws(() => parse(bad), undefined, bad);
  }
  assert.ok(parse('-12') instanceof JsonNumber);
});

test('connection strings split as cg_connection_string_strip does', () => {
  assert.deepEqual(stripConnectionString("Server=a; Password = 'x;y''z' ;PWD={p}}q};User=u;"),
    { rest: 'Server=a;User=u;', secrets: [['Password', "x;y'z"], ['PWD', 'p}q']] });
  assert.deepEqual(stripConnectionString('AccountKey="k""1";SharedAccessSignature=s'),
    { rest: '', secrets: [['AccountKey', 'k"1'], ['SharedAccessSignature', 's']] });
  assert.deepEqual(stripConnectionString('a;;b=1;password'), { rest: 'a;;b=1;password', secrets: [] });
});

// The C transformer's own fixtures, byte for byte.
for (const [file, secrets, preview] of [
  ['new-shape', '{"password":"p@ss\\"w0rd","accountKey":"acctkey==","servicePrincipalKey":"spkey",' +
    '"sasToken":"sv=2020&sig=abc","nested.alpha.2.pwd":"nestedpwd","nested.token":"tok"}',
  ['password', 'accountKey', 'servicePrincipalKey', 'sasToken', 'nested.alpha.2.pwd', 'nested.token']],
  ['old-shape', '{"connectionString.Password":"se;cr\'et"}', ['connectionString.Password']],
]) {
  test(`linked service ${file}: the C fixture, byte for byte`, () => {
    const dir = path.join(src, 'tests/data/linked-service');
    const ls = analyse(fs.readFileSync(path.join(dir, `${file}.json`), 'utf8'));
    assert.equal(ls.secrets, secrets);
    assert.deepEqual(ls.preview, preview);
    assert.equal(ls.rewrite('JWE.TEST.VALUE'), fs.readFileSync(path.join(dir, `${file}.expected.json`), 'utf8'));
  });
}

test('linked-service refusals', () => {
  const kinds = (text, force) => {
    try {
      analyse(text, force);
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof LinkedServiceError);
      return `${e.kind}: ${format(e.message, ...e.args)}`;
    }
  };
  assert.equal(kinds('[]'), 'invalid: not a linked service: the document is not a JSON object');
  assert.equal(kinds('{"a":1}'), 'invalid: not a linked service: no "name" string');
  assert.equal(kinds('{"name":"a b"}'), 'invalid: the linked service name "a b" is not valid ([A-Za-z0-9._-]{1,128})');
  assert.equal(kinds('{"name":"n","properties":{}}'), 'invalid: not a linked service: no "properties.typeProperties" object');
  assert.equal(kinds('{"name":"n","properties":{"typeProperties":{"x":1}}}'), 'invalid: the linked service "n" holds no secret field to encrypt');
  const existing = '{"name":"n","properties":{"typeProperties":{"encryptedCredential":"old","password":"p","z":1}}}';
  assert.equal(kinds(existing), 'exists: the linked service "n" already holds typeProperties.encryptedCredential');
  assert.match(kinds('{"name":'), /^invalid: invalid JSON at line 1, column \d+: /);
  assert.equal(kinds('{"name":"n","properties":{"typeProperties":{"a":[[{"type":"SecureString","value":"v"}]]}}}'),
    'invalid: properties.typeProperties.a.0.0: a SecureString directly inside an array cannot be removed; ' +
    'move it into an object member; nothing was encrypted');
  assert.equal(kinds('{"name":"n","properties":{"typeProperties":{"password":{"type":"SecureString"}}}}'),
    'invalid: properties.typeProperties.password: a SecureString whose value is not a string; nothing was encrypted');
  const forced = analyse(existing, true);
  assert.deepEqual(forced.preview, ['password']);
  assert.equal(forced.rewrite('new'), '{\n  "name": "n",\n  "properties": {\n    "typeProperties": {\n' +
    '      "encryptedCredential": "new",\n      "z": 1\n    }\n  }\n}\n'); // replaced in place
});

// Against the CLI: tests/test-web-unit.sh ran credgate-encrypt-value --key
// --linked-service on each case and opened its encryptedCredential.
const diffDir = process.env.CG_WEB_DIFF_DIR;
if (diffDir) {
  const cases = fs.readdirSync(diffDir).filter((f) => /^case-\d+\.json$/.test(f)).sort();
  test('there are CLI cases to compare with', () => assert.ok(cases.length >= 10));
  for (const c of cases) {
    const base = path.join(diffDir, c.replace(/\.json$/, ''));
    test(`linked service ${c}: as credgate-encrypt-value --linked-service`, () => {
      const text = fs.readFileSync(`${base}.json`, 'utf8');
      if (fs.existsSync(`${base}.refused`)) {
        // The same refusal, in the same words (the CLI prints "credgate-encrypt-value: MESSAGE").
        const err = fs.readFileSync(`${base}.err`, 'utf8');
        assert.throws(() => analyse(text), (e) => e instanceof LinkedServiceError &&
          (e.message.includes('%s: %s') ? err.includes(format(e.message, ...e.args)) : true));
        return;
      }
      const cli = fs.readFileSync(`${base}.cli`, 'utf8');
      const ls = analyse(text);
      const jwe = JSON.parse(cli).properties.typeProperties.encryptedCredential;
      assert.equal(ls.rewrite(jwe), cli, 'the rewritten document differs');
      assert.equal(ls.secrets, fs.readFileSync(`${base}.secrets`, 'utf8'), 'the sealed plaintext differs');
      assert.equal(ls.ctx, fs.readFileSync(`${base}.ctx`, 'utf8').trim(), 'the ctx differs');
    });
  }
}
