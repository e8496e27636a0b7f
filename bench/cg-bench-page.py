#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/cg-bench-page.py URL PIN RUNS: one value encrypted by the browser
page in headless Chromium, timed in the page from the click on "Encrypt" to
the JWE in the output (what a person waits for: /v1/info for the current
sealing key, the key's import and check, panva/jose's ECDH-ES + A256GCM).
Prints "median_ms p10_ms p90_ms" on stdout."""
import statistics
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

url, pin, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
with tempfile.TemporaryDirectory() as profile:
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--user-data-dir={profile}", f"--ignore-certificate-errors-spki-list={pin.split(':', 1)[1]}",
              "--no-first-run", "--disable-extensions", "--disable-background-networking"]:
        o.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    try:
        d.set_script_timeout(60)
        d.get(url)
        WebDriverWait(d, 30).until(lambda _: d.execute_script(
            "return !!document.getElementById('v-encrypt') && document.querySelector('.facts dd').textContent.startsWith('sha256:')"))
        times = d.execute_async_script("""
          const [runs, done] = arguments;
          const value = document.getElementById('v-value');
          const output = document.getElementById('v-output');
          const times = [];
          const one = () => new Promise((resolve) => {
            value.value = 'correct horse battery staple';
            output.value = '';
            // The page announces the result right after it fills the output;
            // a MutationObserver sees that without a timer's 4 ms clamping.
            const obs = new MutationObserver(() => {
              if (output.value) {
                obs.disconnect();
                resolve(performance.now() - t0);
              }
            });
            obs.observe(document.getElementById('message'), { childList: true, characterData: true, subtree: true });
            document.getElementById('message').textContent = '';
            const t0 = performance.now();
            document.getElementById('v-encrypt').click();
          });
          (async () => {
            for (let i = 0; i < runs + 5; i++) {
              const t = await one();
              if (i >= 5) times.push(t); // after a warm-up
            }
            done(times);
          })();""", runs)
    finally:
        d.quit()
q = statistics.quantiles(times, n=10)
print(f"{statistics.median(times):.2f} {q[0]:.2f} {q[-1]:.2f}")
