#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The browser page in headless Chromium against the real agent (run by
tests/test-web-page.sh, which says what is covered)."""
import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

E = os.environ
URL, PIN, WORK = E["CG_WEB_URL"], E["CG_WEB_PIN"], E["CG_WEB_WORK"]
ART = E["CG_WEB_ARTIFACTS"]
TOKEN = open(os.path.join(WORK, "token")).read().strip()
TOKEN_REVOKED = open(os.path.join(WORK, "token-revoked")).read().strip()
DOWNLOADS = os.path.join(WORK, "downloads")
os.makedirs(DOWNLOADS, exist_ok=True)
sessions = 0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print(f"ok - {msg}", flush=True)


def ctl(*args, stdin=None, check=True):
    r = subprocess.run([E["CG_WEB_CTL"], "--socket", E["CG_WEB_SOCKET"], *args], input=stdin,
                       capture_output=True, text=True)
    if check and r.returncode != 0:
        fail(f"credgatectl {' '.join(args)}: {r.stderr.strip()}")
    return r


def api(method, path, body=None, token=TOKEN):
    """The API with python's own TLS client (for setting up cases)."""
    ctx = ssl.create_default_context(cafile=os.path.join(E["CG_WEB_STATE"], "tls/server.crt"))
    c = http.client.HTTPSConnection("localhost", int(URL.rsplit(":", 1)[1].strip("/")), context=ctx)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")


def new_driver(lang, width=1280, height=1000):
    global sessions
    sessions += 1
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    spki = PIN.split(":", 1)[1]
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--user-data-dir={WORK}/chrome-{sessions}", f"--lang={lang}",
              f"--ignore-certificate-errors-spki-list={spki}", f"--window-size={width},{height}",
              "--no-first-run", "--disable-extensions", "--disable-background-networking"]:
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang,
                                        "download.default_directory": DOWNLOADS,
                                        "download.prompt_for_download": False})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_script_timeout(30)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return d


class Log:
    """Everything the browser sent and received (Chromium performance log)."""

    def __init__(self):
        self.requests, self.responses, self.console = [], [], []

    def drain(self, d):
        for entry in d.get_log("performance"):
            m = json.loads(entry["message"])["message"]
            if m["method"] == "Network.requestWillBeSent":
                self.requests.append(m["params"]["request"])
            elif m["method"] == "Network.responseReceived":
                self.responses.append(m["params"]["response"])
        self.console += d.get_log("browser")


LOG = Log()


def wait(d, cond, what, timeout=20):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.05,
                             ignored_exceptions=[StaleElementReferenceException, NoSuchElementException]
                             ).until(lambda _: cond())
    except TimeoutException:
        fail(f"timed out waiting for {what}; message: {message(d)!r}")


def by_id(d, i):
    return d.find_element(By.ID, i)


def message(d):
    try:
        return by_id(d, "message").text
    except Exception:
        return ""


def expect_message(d, part, what):
    wait(d, lambda: part in message(d), f"{what} ({part!r})")


def clear_message(d):
    d.execute_script("document.getElementById('message').textContent = ''")


def type_into(el, text):
    el.clear()
    el.send_keys(text)


def use_token(d, token):
    clear_message(d)
    type_into(by_id(d, "token"), token)
    by_id(d, "use-token").click()


def add_credential(d, type_id, name, values):
    clear_message(d)
    wait(d, lambda: d.find_elements(By.ID, "add-credential"), "the add button")
    by_id(d, "add-credential").click()
    wait(d, lambda: d.find_elements(By.ID, "cred-type"), "the editor")
    Select(by_id(d, "cred-type")).select_by_value(type_id)
    type_into(by_id(d, "cred-name"), name)
    for k, v in values.items():
        el = by_id(d, f"cred-field-{k}")
        if len(v) > 200:  # send_keys of kilobytes is slow; an input event does the same
            d.execute_script("arguments[0].value = arguments[1];"
                             "arguments[0].dispatchEvent(new Event('input'))", el, v)
        else:
            type_into(el, v)
    by_id(d, "save").click()


def resolve(name):
    return json.loads(ctl("--json", "credential", "resolve", name).stdout)


def jwe_header(jwe):
    h = jwe.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))


def ordered(text):
    """Parse keeping member order: objects become lists of pairs."""
    return json.loads(text, object_pairs_hook=lambda pairs: [list(p) for p in pairs])


def without_ec(doc):
    tp = dict((k, v) for k, v in doc)["properties"]
    tp = dict((k, v) for k, v in tp)["typeProperties"]
    for pair in tp:
        if pair[0] == "encryptedCredential":
            ec = pair[1]
            pair[1] = "(removed for comparison)"
            return ec
    fail("no encryptedCredential in the output")


def screenshot(d, name, width):
    d.set_window_size(width, 1000)
    time.sleep(0.3)
    shot = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    with open(os.path.join(ART, f"{name}.png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def no_horizontal_scroll(d, width, what):
    d.set_window_size(width, 900)
    time.sleep(0.3)
    sw, cw = d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if sw > cw:
        fail(f"{what}: the page scrolls sideways ({sw} > {cw} CSS px)")


# ---------------------------------------------------------------------------
# 1. The browser says Dutch: the page is Dutch; screenshots in Dutch.
nl = new_driver("nl")
nl.get(URL)
wait(nl, lambda: nl.execute_script("return document.documentElement.lang") == "nl", "Dutch")
wait(nl, lambda: by_id(nl, "token-h").text == "Toegang", "the Dutch heading")
if Select(by_id(nl, "language")).first_selected_option.get_attribute("value") != "nl":
    fail("the language switch does not show Dutch")
api("PUT", "/v1/credentials/sales-db", {"type": "postgresql", "properties":
    {"host": "db1.example.com", "port": 5432, "database": "sales", "user": "app"}, "secret": {"password": "x"}})
use_token(nl, TOKEN)
wait(nl, lambda: nl.find_elements(By.ID, "credential-list"), "the list (nl)")
screenshot(nl, "web-nl-desktop", 1280)
screenshot(nl, "web-nl-phone", 390)
Select(by_id(nl, "language")).select_by_value("de")
wait(nl, lambda: by_id(nl, "token-h").text == "Zugang", "German after the switch")
Select(by_id(nl, "language")).select_by_value("en")
wait(nl, lambda: by_id(nl, "token-h").text == "Access", "English after the switch")
LOG.drain(nl)
nl.quit()
ok("the browser's language (nl) picks the page's; the switch changes it (de, en); nl screenshots saved")

# ---------------------------------------------------------------------------
d = new_driver("en-US")
d.get(URL)
status = ctl("status").stdout
kid = [l.split(":", 1)[1].strip() for l in status.splitlines() if l.startswith("sealing key:")][0]
wait(d, lambda: PIN in by_id(d, "app").text and kid in by_id(d, "app").text,
     f"the pin {PIN} and kid {kid} in: {by_id(d, 'app').text[:400]!r}")
if "credgatectl status" not in by_id(d, "app").text:
    fail("no line on comparing the fingerprint with credgatectl status")
if d.execute_script("return document.cookie") != "" or d.execute_script(
        "return localStorage.length + sessionStorage.length") != 0:
    fail("the page keeps something in cookies or web storage")
ok("the page shows the TLS pin and sealing kid of credgatectl status, and how to compare them")

# 401: a wrong token.
use_token(d, "cgt_wrong")
expect_message(d, "was not accepted", "the 401 message")
if d.find_elements(By.ID, "credential-list"):
    fail("the list shows with a wrong token")
use_token(d, TOKEN)
expect_message(d, "Connected", "connecting")
if d.execute_script("return document.cookie + localStorage.length + sessionStorage.length") != "00":
    fail("the token went into a cookie or web storage")
if TOKEN in d.page_source:
    fail("the token is in the page's DOM")
ok("a wrong token says so (401); the right one connects; no cookie, no web storage, not in the DOM")

# Store through the page; resolve gives it back; the request held only a JWE.
SECRET = "Pässw0rd <&> from the page"
LOG.drain(d)
add_credential(d, "sqlserver", "web-db", {"server": "  db9.example.com ", "port": "1433",
                                            "user": "app", "password": SECRET})
expect_message(d, "Saved “web-db” (version 1)", "saving")
rec = resolve("web-db")
if rec["secret"] != {"password": SECRET}:
    fail(f"resolve gives {rec['secret']!r}")
if rec["properties"] != {"server": "db9.example.com", "port": 1433, "user": "app"} or rec["type"] != "sqlserver":
    fail(f"stored properties {rec['properties']!r}")
LOG.drain(d)
puts = [r for r in LOG.requests if r["method"] == "PUT"]
if len(puts) != 1 or not puts[0]["url"].endswith("/v1/credentials/web-db"):
    fail(f"expected one PUT, saw {[r['url'] for r in puts]}")
body = json.loads(puts[0]["postData"])
if list(body) != ["type", "properties", "encryptedSecret"]:
    fail(f"the PUT body has {list(body)}")
hdr = jwe_header(body["encryptedSecret"])
if len(body["encryptedSecret"].split(".")) != 5 or hdr.get("ctx") != "credential:web-db" \
        or hdr.get("kid") != kid or hdr.get("alg") != "ECDH-ES" or hdr.get("enc") != "A256GCM":
    fail(f"the JWE header is {hdr}")
for r in LOG.requests:
    for part in ("Pässw0rd", "P\\u00e4ssw0rd", "from the page"):
        if part in json.dumps(r):
            fail(f"the plaintext went over the network in {r['method']} {r['url']}")
ok("stored through the page: resolve gives it back; the PUT carried only a JWE (ctx credential:web-db)")

# Edit: the secret must be typed again; a new version.
clear_message(d)
d.find_element(By.CSS_SELECTOR, "button[aria-label='Edit web-db']").click()
wait(d, lambda: by_id(d, "cred-field-server").get_attribute("value") == "db9.example.com", "the editor filled in")
if by_id(d, "cred-name").get_attribute("readonly") is None or by_id(d, "cred-field-password").get_attribute("value"):
    fail("editing: the name is editable or the password is filled in")
by_id(d, "save").click()
expect_message(d, "Password is required.", "the secret asked again")
if by_id(d, "cred-field-password").get_attribute("aria-invalid") != "true":
    fail("the missing password is not marked invalid")
type_into(by_id(d, "cred-field-server"), "db10")
type_into(by_id(d, "cred-field-password"), "second")
by_id(d, "save").click()
expect_message(d, "Saved “web-db” (version 2)", "saving the edit")
if resolve("web-db")["secret"] != {"password": "second"} or resolve("web-db")["properties"]["server"] != "db10":
    fail("the edit did not store")
ok("edit: filled from the agent, secret asked again, stored as version 2")

# Validation as the desktop app's.
add_credential(d, "postgresql", "bad name", {"host": "h", "port": "99999"})
expect_message(d, "Use 1 to 128 letters", "the name check")
problems = {i: by_id(d, f"{i}-note").text for i in
            ("cred-name", "cred-field-port", "cred-field-database", "cred-field-user", "cred-field-password")}
want = {"cred-name": "Use 1 to 128 letters, digits, dots, dashes or underscores.",
        "cred-field-port": "A port is a number from 1 to 65535.",
        "cred-field-database": "Database is required.", "cred-field-user": "User name is required.",
        "cred-field-password": "Password is required."}
if problems != want:
    fail(f"validation messages {problems}")
if d.switch_to.active_element.get_attribute("id") != "cred-name":
    fail("focus did not go to the first bad field")
if ctl("credential", "list").stdout.count("\n") > 3:
    fail("something was stored from an invalid form")
by_id(d, "cred-field-port").send_keys(Keys.BACKSPACE)
wait(d, lambda: by_id(d, "cred-field-port-note").text == "", "the port message clearing as one types")
d.find_element(By.XPATH, "//form[@id='editor']//button[text()='Cancel']").click()
ok("the form checks name, port and required fields as the desktop app does, and says where")

# 413: a record over the agent's body limit (max_body=4096 for this test).
add_credential(d, "generic", "big", {"properties": "a=" + "x" * 2000, "value": "y" * 2000})
expect_message(d, "too large", "the 413 message")
d.find_element(By.XPATH, "//form[@id='editor']//button[text()='Cancel']").click()
ok("a record over the body limit: the 413 in words")

# Delete, with confirmation.
clear_message(d)
d.find_element(By.CSS_SELECTOR, "button[aria-label='Delete web-db']").click()
wait(d, lambda: by_id(d, "confirm").get_attribute("open") is not None, "the confirmation")
if d.switch_to.active_element.get_attribute("id") != "confirm-cancel":
    fail("the confirmation does not start on Cancel")
d.switch_to.active_element.send_keys(Keys.ENTER)  # Cancel, by keyboard
wait(d, lambda: by_id(d, "confirm").get_attribute("open") is None, "the dialog closing")
if "web-db" not in ctl("credential", "list").stdout:
    fail("cancel deleted")
d.find_element(By.CSS_SELECTOR, "button[aria-label='Delete web-db']").click()
wait(d, lambda: by_id(d, "confirm").get_attribute("open") is not None, "the confirmation again")
by_id(d, "confirm-delete").click()
expect_message(d, "Deleted “web-db”", "deleting")
if "web-db" in ctl("credential", "list").stdout:
    fail("delete did not delete")
ok("delete asks first (Cancel is the default and keeps it), then deletes")

# Injected markup in properties (names cannot hold it: the API refuses).
st, _ = api("PUT", "/v1/credentials/%3Cscript%3E", {"type": "generic", "secret": "s"})
if st != 400:
    fail(f"a name with markup was accepted ({st})")
XSS = ["<img src=x onerror=window.__pwned=1>", "<script>window.__pwned=2</script>"]
api("PUT", "/v1/credentials/xss-generic", {"type": "generic", "properties": {XSS[0]: XSS[1]}, "secret": "s"})
api("PUT", "/v1/credentials/xss-sql", {"type": "sqlserver", "properties": {"server": XSS[0], "user": XSS[1]},
                                       "secret": {"password": "p"}})
by_id(d, "refresh").click()
wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "button[aria-label='Edit xss-generic']"), "the injected records")
d.find_element(By.CSS_SELECTOR, "button[aria-label='Edit xss-generic']").click()
wait(d, lambda: by_id(d, "cred-field-properties").get_attribute("value") == f"{XSS[0]}={XSS[1]}", "the property as text")
d.find_element(By.XPATH, "//form[@id='editor']//button[text()='Cancel']").click()
d.find_element(By.CSS_SELECTOR, "button[aria-label='Edit xss-sql']").click()
wait(d, lambda: by_id(d, "cred-field-server").get_attribute("value") == XSS[0], "the server as text")
if by_id(d, "cred-field-user").get_attribute("value") != XSS[1]:
    fail("the user property was not shown as text")
d.find_element(By.XPATH, "//form[@id='editor']//button[text()='Cancel']").click()
ls_xss = json.dumps({"name": "xss-ls", "properties": {"typeProperties": {
    XSS[0]: {"type": "SecureString", "value": "v"}, "password": "p"}}})
d.execute_script("const t = document.getElementById('ls-input'); t.value = arguments[0];"
                 "t.dispatchEvent(new Event('input'))", ls_xss)
wait(d, lambda: XSS[0] in by_id(d, "ls-preview").text, "the injected key in the preview, as text")
time.sleep(0.5)
if d.execute_script("return window.__pwned") is not None:
    fail("injected markup ran")
if d.execute_script("return document.querySelectorAll('#app img, #app script').length") != 0:
    fail("injected markup became elements")
ok("markup in properties and linked-service keys is shown as text and never runs")

# A single value, encrypted in the page, opens with credgatectl decrypt (right ctx only).
clear_message(d)
type_into(by_id(d, "v-value"), "one value ünï")
type_into(by_id(d, "v-context"), "ctx-a")
by_id(d, "v-encrypt").click()
wait(d, lambda: by_id(d, "v-output").get_attribute("value").count(".") == 4, "the value's JWE")
jwe = by_id(d, "v-output").get_attribute("value")
if ctl("decrypt", "--context", "ctx-a", stdin=jwe).stdout != "one value ünï":
    fail("credgatectl decrypt --context ctx-a did not give the value back")
for wrong in (["--context", "ctx-b"], ["--context", "ctx-a "], ["--context", "credential:ctx-a"], []):
    if ctl("decrypt", *wrong, stdin=jwe, check=False).returncode == 0:
        fail(f"decrypt opened it with {wrong or 'no context'}")
if by_id(d, "v-value").get_attribute("value"):
    fail("the value stays in the field after encrypting")
type_into(by_id(d, "v-value"), "no ctx")
by_id(d, "v-context").clear()
by_id(d, "v-encrypt").click()
wait(d, lambda: by_id(d, "v-output").get_attribute("value") != jwe, "the second JWE")
jwe2 = by_id(d, "v-output").get_attribute("value")
if "ctx" in jwe_header(jwe2) or ctl("decrypt", stdin=jwe2).stdout != "no ctx":
    fail("a value without context")
if ctl("decrypt", "--context", "ctx-a", stdin=jwe2, check=False).returncode == 0:
    fail("a value without context opened under a context")
ok("a value encrypted in the page opens with credgatectl decrypt with the right ctx only")

# The page's encrypt module on a key made by jose: jose and jwcrypto open it.
subprocess.run(["jose", "jwk", "gen", "-i", '{"kty":"EC","crv":"P-256"}', "-o", f"{WORK}/jose.jwk"], check=True)
pub = json.loads(subprocess.run(["jose", "jwk", "pub", "-i", f"{WORK}/jose.jwk"], capture_output=True,
                                text=True, check=True).stdout)
pub["kid"] = subprocess.run(["jose", "jwk", "thp", "-i", f"{WORK}/jose.jwk"], capture_output=True,
                            text=True, check=True).stdout.strip()
out = d.execute_async_script("""
  const [jwk, done] = arguments;
  import('/cg-crypto.js').then(async (m) => {
    const key = await m.importSealingKey(jwk);
    const a = await m.seal(key, 'interop ✓ value', 'interop-ctx');
    let refused = null;
    try { await m.importSealingKey({...jwk, kid: 'not-the-thumbprint'}); } catch (e) { refused = String(e.message); }
    done({a, refused});
  }).catch((e) => done({error: String(e)}));""", pub)
if "error" in out:
    fail(f"the module failed: {out['error']}")
if not out["refused"]:
    fail("a JWK whose kid is not its thumbprint was accepted")
h = jwe_header(out["a"])
if sorted(h) != ["alg", "ctx", "enc", "epk", "kid"] or h["kid"] != pub["kid"] or h["ctx"] != "interop-ctx":
    fail(f"header {h}")
dec = subprocess.run(["jose", "jwe", "dec", "-i-", "-k", f"{WORK}/jose.jwk", "-O-"], input=out["a"].encode(),
                     capture_output=True)
if dec.returncode != 0 or dec.stdout.decode() != "interop ✓ value":
    fail(f"jose jwe dec: {dec.stderr!r}")
from jwcrypto import jwe as jwcrypto_jwe, jwk as jwcrypto_jwk  # noqa: E402
k = jwcrypto_jwk.JWK.from_json(open(f"{WORK}/jose.jwk").read())
t = jwcrypto_jwe.JWE()
t.deserialize(out["a"], key=k)
if t.payload.decode() != "interop ✓ value":
    fail("jwcrypto gives another value")
ok("the page's encrypt module (panva/jose), on a jose-made key: jose jwe dec and python3-jwcrypto open it")

# A linked service: opened as a file, and pasted; as the CLI writes it.
info = json.loads(subprocess.run(["curl", "-sS", "--cacert", f"{E['CG_WEB_STATE']}/tls/server.crt", f"{URL}v1/info"],
                                 capture_output=True, text=True, check=True).stdout)
with open(f"{WORK}/agent.jwk", "w") as f:
    json.dump(info["sealingKey"], f)
for how, fixture, preview in (
        ("file", "new-shape.json", ["password", "accountKey", "servicePrincipalKey", "sasToken",
                                    "nested.alpha.2.pwd", "nested.token"]),
        ("paste", "old-shape.json", ["connectionString.Password"])):
    path = os.path.realpath(os.path.join(E["CG_WEB_DATA"], "linked-service", fixture))
    text = open(path, encoding="utf-8").read()
    clear_message(d)
    by_id(d, "ls-input").clear()
    if how == "file":
        by_id(d, "ls-file").send_keys(path)
    else:
        by_id(d, "ls-input").send_keys(text)
    wait(d, lambda: [li.text for li in by_id(d, "ls-preview").find_elements(By.TAG_NAME, "li")] == preview,
         f"the preview of {fixture}")
    by_id(d, "ls-encrypt").click()
    wait(d, lambda: "encryptedCredential" in by_id(d, "ls-output").get_attribute("value"), f"the rewrite of {fixture}")
    page = by_id(d, "ls-output").get_attribute("value")
    if by_id(d, "ls-input").get_attribute("value") != "":
        fail(f"{fixture}: the plaintext input stays after encrypting")
    cli = subprocess.run([E["CG_WEB_ENCRYPT"], "--key", f"{WORK}/agent.jwk", "--linked-service", path],
                         capture_output=True, text=True, check=True).stdout
    p, c = ordered(page), ordered(cli)
    ec_page, ec_cli = without_ec(p), without_ec(c)
    if p != c:
        fail(f"{fixture}: the page's rewrite differs from the CLI's:\n{page}\n{cli}")
    name = json.loads(text)["name"]
    if jwe_header(ec_page).get("ctx") != name or jwe_header(ec_cli).get("ctx") != name:
        fail(f"{fixture}: ctx")
    a = ctl("decrypt", "--context", name, stdin=ec_page).stdout
    b = ctl("decrypt", "--context", name, stdin=ec_cli).stdout
    if a != b or list(json.loads(a)) != preview:
        fail(f"{fixture}: sealed plaintexts differ: {a!r} {b!r}")
    if page != cli.replace(ec_cli, ec_page):
        fail(f"{fixture}: not byte for byte the CLI's output")
    if ctl("decrypt", "--context", "other", stdin=ec_page, check=False).returncode == 0:
        fail("the linked service's value opened under another ctx")
ok("linked services (a file, a paste): the page's rewrite equals the CLI's apart from the ciphertext")

for f in os.listdir(DOWNLOADS):
    os.unlink(os.path.join(DOWNLOADS, f))
by_id(d, "ls-download").click()
wait(d, lambda: os.path.exists(os.path.join(DOWNLOADS, "OnPremSql-1.json")), "the download")
time.sleep(0.3)
if open(os.path.join(DOWNLOADS, "OnPremSql-1.json"), encoding="utf-8").read() != page:
    fail("the downloaded file is not the output")
d.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                                "origin": URL.rstrip("/")})
by_id(d, "ls-copy").click()
expect_message(d, "Copied", "copying")
if d.execute_async_script("navigator.clipboard.readText().then(arguments[0])") != page:
    fail("the clipboard does not hold the output")
ok("the rewritten linked service downloads as NAME.json and copies to the clipboard")

# 503: the keyring locked.
subprocess.run([E["CG_WEB_KEYRING_CTL"], "lock"], check=True)
time.sleep(0.2)
add_credential(d, "generic", "while-locked", {"value": "v"})
expect_message(d, "is locked", "the locked message on storing")
d.find_element(By.XPATH, "//form[@id='editor']//button[text()='Cancel']").click()
clear_message(d)
type_into(by_id(d, "v-value"), "v")
by_id(d, "v-encrypt").click()
expect_message(d, "is locked", "the locked message on encrypting")
subprocess.run([E["CG_WEB_KEYRING_CTL"], "unlock"], check=True)
add_credential(d, "generic", "after-unlock", {"value": "v"})
expect_message(d, "Saved “after-unlock”", "storing after unlock")
if "while-locked" in ctl("credential", "list").stdout:
    fail("stored while locked")
ok("a locked keyring (503) is said in words, and storing works again once unlocked")

# 401: a revoked token.
use_token(d, TOKEN_REVOKED)
expect_message(d, "Connected", "the second token")
ctl("token", "revoke", "web-revoked")
clear_message(d)
by_id(d, "refresh").click()
expect_message(d, "was not accepted: it is wrong, expired or revoked", "the revoked token's message")
ok("a token revoked while the page is open: the 401 in words")

# Forget: the token is gone from memory.
use_token(d, TOKEN)
expect_message(d, "Connected", "connecting again")
by_id(d, "forget-token").click()
expect_message(d, "forgotten", "forgetting")
if d.find_elements(By.ID, "credential-list") or d.find_elements(By.ID, "refresh"):
    fail("the list stays after forget")
st = d.execute_async_script("import('/cg-api.js').then((m) => arguments[0](m.hasToken()))")
if st is not False:
    fail("the api module still holds a token after forget")
use_token(d, TOKEN)
expect_message(d, "Connected", "connecting once more")
d.refresh()
wait(d, lambda: d.find_elements(By.ID, "token"), "the reloaded page")
if d.find_elements(By.ID, "credential-list") or d.execute_async_script(
        "import('/cg-api.js').then((m) => arguments[0](m.hasToken()))") is not False:
    fail("the token survived a reload")
ok("forget drops the token; a reload drops it too")

# Accessibility: labels, keyboard, focus, zoom, phone width.
use_token(d, TOKEN)
expect_message(d, "Connected", "connecting for the checks")
by_id(d, "add-credential").click()
wait(d, lambda: d.find_elements(By.ID, "cred-type"), "the editor for the checks")
unlabelled = d.execute_script("""
  return [...document.querySelectorAll('input, select, textarea, button')].filter((el) => {
    if (el.closest('dialog:not([open])')) return false;
    const name = (el.labels && [...el.labels].map((l) => l.textContent).join('').trim())
      || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim());
    return !name;
  }).map((el) => el.outerHTML);""")
if unlabelled:
    fail(f"controls without a label: {unlabelled}")
focusable = d.execute_script("""
  return [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !el.disabled && el.offsetParent !== null).map((el) => el.id || el.outerHTML);""")
d.execute_script("document.getElementById('language').focus()")
reached, unringed = [], []
for i in range(len(focusable) + 5):
    if i:  # the first was focused by script; the rest by the keyboard
        ActionChains(d).send_keys(Keys.TAB).perform()
    el = d.switch_to.active_element
    ident = el.get_attribute("id") or el.get_attribute("outerHTML")[:200]
    reached.append(ident)
    ring = d.execute_script("const s = getComputedStyle(document.activeElement);"
                            "return s.outlineStyle + ' ' + s.outlineWidth")
    if i and el.tag_name != "body" and (ring.startswith("none") or ring.endswith(" 0px")):
        unringed.append(f"{ident}: {ring}")
missing = [f for f in focusable if f not in reached]
if missing:
    fail(f"not reachable with Tab: {missing}")
if unringed:
    fail(f"no visible focus on: {unringed}")
ok(f"every control is labelled, all {len(focusable)} are reached with Tab, each with a visible focus ring")
no_horizontal_scroll(d, 640, "200% zoom (1280 px at 2x)")
no_horizontal_scroll(d, 360, "phone width")
screenshot(d, "web-en-phone", 390)
screenshot(d, "web-en-desktop", 1280)
ok("no sideways scrolling at 200% zoom and at phone width; en screenshots saved")

# Every page response carried the CSP and the other headers; no CSP violation.
LOG.drain(d)
pages = [r for r in LOG.responses if r["url"].startswith(URL) and "/v1/" not in r["url"]]
if len(pages) < 15:
    fail(f"only {len(pages)} page responses seen")
for r in pages:
    hd = {k.lower(): v for k, v in r["headers"].items()}
    if hd.get("content-security-policy") != ("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                             "form-action 'none'; object-src 'none'") \
            or hd.get("x-content-type-options") != "nosniff" or hd.get("referrer-policy") != "no-referrer" \
            or "etag" not in hd or "cache-control" not in hd:
        fail(f"{r['url']}: headers {hd}")
if any(r["url"].split("/")[2] != URL.split("/")[2] for r in LOG.requests if r["url"].startswith("http")):
    fail("a request went to another origin")
bad = [m for m in LOG.console if "Content Security Policy" in m["message"] or "Uncaught" in m["message"]]
if bad:
    fail(f"console: {bad}")
ok(f"all {len(pages)} page responses carried the CSP, nosniff, no-referrer, ETag, Cache-Control; no other origin; no CSP violation")

# 429: too many failed attempts from this address.
for i in range(6):
    use_token(d, f"cgt_wrong{i}")
    wait(d, lambda: message(d), "an answer")
expect_message(d, "Too many failed attempts", "the 429 message")
ok("throttling (429) is said in words")

# The agent gone.
os.kill(int(E["CG_WEB_AGENT_PID"]), signal.SIGTERM)
for _ in range(200):
    try:
        os.kill(int(E["CG_WEB_AGENT_PID"]), 0)
        time.sleep(0.05)
    except ProcessLookupError:
        break
use_token(d, TOKEN)
expect_message(d, "cannot be reached", "the unreachable message")
clear_message(d)
type_into(by_id(d, "v-value"), "v")
by_id(d, "v-encrypt").click()
expect_message(d, "cannot be reached", "the unreachable message on encrypting")
d.quit()
ok("an agent that is gone: said in words")
