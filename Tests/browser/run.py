#!/usr/bin/env python3
"""The web console in a real browser: starts `threadlog serve` on 127.0.0.1 with a temporary data
directory and its mail sent to the test SMTP server of Tools/smtp-test-server (aiosmtpd, so run it with
the checkout's .venv/bin/python), seeds parties and users through the HTTP API with the admin token, and drives headless
Chromium through what people do with the console. Screenshots (PNG) go to --screenshots.

Usage: Tests/browser/run.py --threadlog .build/debug/threadlog --screenshots DIR [--only NAME]
Ends with the line `N passed, N failed`; exits non-zero when a scenario failed.
"""

import argparse
import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

ADMIN = "admin-token-of-the-browser-tests"
DESKTOP = (1280, 900)
PHONE = (390, 844)
PUBLIC_URL = "http://console.example.test"


class Server:
    """A real `threadlog serve` on a free port of 127.0.0.1, over a temporary data directory."""

    def __init__(self, binary, mail=None):
        self.dir = tempfile.mkdtemp(prefix="threadlog-browser-")
        env = dict(os.environ, THREADLOG_ADMIN_TOKEN=ADMIN, THREADLOG_PROJECTION_INTERVAL_MS="50",
                   LOG_LEVEL="warning")
        env.pop("THREADLOG_SMTP_URL", None)
        if mail:
            # Links in mails name PUBLIC_URL; the scenario opens their path on the real port.
            env.update(THREADLOG_SMTP_URL=mail.url, THREADLOG_MAIL_FROM="Threadlog <noreply@example.test>",
                       THREADLOG_PUBLIC_URL=PUBLIC_URL, THREADLOG_MAIL_POLL_MS="50")
        self.log = open(os.path.join(self.dir, "serve.log"), "w+")
        self.process = subprocess.Popen(
            [binary, "serve", "--data", os.path.join(self.dir, "data"), "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        deadline = time.time() + 60
        self.base = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                self.base = match.group(1)
                break
        if not self.base:
            self.stop()
            raise RuntimeError("threadlog serve did not start; see " + self.log.name)

    def api(self, method, path, body=None, token=ADMIN):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read().decode()
            return json.loads(text) if text else {}

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class MailServer:
    """The aiosmtpd server of Tools/smtp-test-server: each accepted mail becomes DIR/NNNN.eml beside
    NNNN.json (its envelope)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="threadlog-browser-mail-")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tools", "smtp-test-server",
                              "server.py")
        self.process = subprocess.Popen(
            [sys.executable, script, "--port", "0", "--maildir", self.dir, "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        match = re.match(r"PORT (\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError("the SMTP test server did not start: %r" % line)
        self.url = "smtp://127.0.0.1:" + match.group(1)

    def mails_to(self, address):
        """The plain text of every mail received for address, oldest first."""
        texts = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(self.dir, name)) as handle:
                envelope = json.load(handle)
            if address not in envelope.get("rcpt_tos", []):
                continue
            with open(os.path.join(self.dir, name[:-5] + ".eml"), "rb") as handle:
                message = email.message_from_bytes(handle.read(), policy=email.policy.default)
            body = message.get_body(("plain",))
            texts.append(body.get_content() if body else "")
        return texts

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class World:
    """The people of the scenarios: an operator (acme) with two handlers, a supplier, a client and a
    subcontractor, each with an access token."""

    def __init__(self, server):
        self.server = server
        api = server.api
        for party in [("acme", "Acme Utilities", "internal"), ("sup", "Supplier Ltd", "external"),
                      ("cli", "Client Oy", "external"), ("sub", "Subcontractor SpA", "external")]:
            api("POST", "/v1/parties", {"id": party[0], "name": party[1], "kind": party[2]})
        self.tokens = {}
        for user, name, party, role in [
                ("ann", "Ann Handler", "acme", "handler"), ("hal", "Hal Second", "acme", "handler"),
                ("bob", "Bob Supplier", "sup", "supplier"), ("cara", "Cara Client", "cli", "client"),
                ("sam", "Sam Subcontractor", "sub", "subcontractor")]:
            answer = api("POST", "/v1/users", {"id": user, "name": name, "email": user + "@example.test",
                                               "party": party, "roles": [role]})
            self.tokens[user] = answer["token"]
        api("POST", "/v1/subjects", {"kind": "contract", "ref": "C-2024-0042", "parties": ["sup"]})
        api("PUT", "/v1/settings", {"messageTemplates": {
            "Invoice received": "Thank you, we have received your invoice and will check it within two days.",
            "Need more details": "Could you send us more details, please?"}})
        # Follow-up work shared with the subcontractor.
        for title, kind, priority in [("Replace the meter at Main St 4", "task", "urgent"),
                                      ("Monthly report", "message", "normal"),
                                      ("Paint the cabinet", "task", "low"),
                                      ("Check the valve", "task", "urgent")]:
            api("POST", "/v1/threads", {"subject": {"kind": "request", "ref": "W-" + title[:5]},
                                        "title": title, "type": kind, "priority": priority,
                                        "participants": ["sam"], "body": "Please see to it: " + title},
                token=self.tokens["ann"])


class Scenarios:
    def __init__(self, server, world, shots, mail=None):
        self.mail = mail
        self.server = server
        self.world = world
        self.shots = shots
        self.drivers = []

    # MARK: Browser helpers

    def browser(self, size=DESKTOP):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--lang=en-US", "--window-size=%d,%d" % size, "--hide-scrollbars"]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_page_load_timeout(30)
        self.drivers.append(driver)
        return driver

    def close_all(self):
        for driver in self.drivers:
            try:
                driver.quit()
            except Exception:
                pass
        self.drivers = []

    def sign_in(self, driver, user):
        driver.get(self.server.base + "/sign-in")
        driver.find_element(By.ID, "token").send_keys(self.world.tokens[user])
        driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button[type=submit]").click()
        self.wait(driver, lambda d: d.current_url.endswith("/inbox"), "the inbox after signing in")

    def wait(self, driver, condition, what, timeout=15):
        # A live update may replace an element between finding it and reading it: look again.
        try:
            return WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)
        except TimeoutException:
            raise AssertionError("waited %ds for %s; at %s" % (timeout, what, driver.current_url))

    def shot(self, driver, name):
        path = os.path.join(self.shots, name + ".png")
        # The whole page, not only the window: the window grows to the page's height for the picture.
        width = driver.get_window_size()["width"]
        height = driver.execute_script("return document.documentElement.scrollHeight")
        original = driver.get_window_size()
        driver.set_window_size(width, max(original["height"], min(height + 140, 4000)))
        driver.save_screenshot(path)
        driver.set_window_size(original["width"], original["height"])

    def text(self, driver, selector):
        return driver.find_element(By.CSS_SELECTOR, selector).text

    def no_alert(self, driver):
        try:
            alert = driver.switch_to.alert
            raise AssertionError("a script ran: alert " + alert.text)
        except NoAlertPresentException:
            pass

    def no_errors(self, driver):
        """No script errors and no CSP refusals in the browser's console."""
        entries = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                   and "favicon" not in e["message"]]
        assert not entries, "browser console errors: %r" % entries

    # MARK: Scenarios

    def contract_chat(self):
        """A supplier and a handler in two browsers walk a contract chat; the handler's unread badge
        appears live, without a reload; the handler uses a template, assigns and answers, the
        supplier drops a file on the post box."""
        ann = self.browser()
        bob = self.browser()
        self.sign_in(ann, "ann")
        self.sign_in(bob, "bob")
        # The handler's inbox stays open: nobody reloads it.

        bob.get(self.server.base + "/threads/new")
        Select(bob.find_element(By.NAME, "kind")).select_by_value("contract")
        bob.find_element(By.NAME, "ref").send_keys("C-2024-0042")
        bob.find_element(By.NAME, "title").send_keys("Invoice 2024-11 for contract C-2024-0042")
        bob.find_element(By.NAME, "body").send_keys("Hello, the invoice for November is attached to our portal.")
        bob.find_element(By.ID, "open-thread").click()
        self.wait(bob, lambda d: "/threads/" in d.current_url and "/new" not in d.current_url, "the new thread")
        thread = bob.current_url.split("/threads/")[1].split("#")[0]

        # Live: the row and its unread badge arrive in the open inbox.
        row = "tr[data-thread='%s'] .badge.unread" % thread
        self.wait(ann, lambda d: d.find_elements(By.CSS_SELECTOR, row), "the live unread badge", timeout=20)
        assert self.text(ann, row) == "1", self.text(ann, row)
        opened_by = self.text(ann, "tr[data-thread='%s'] td.opened-by" % thread)
        assert "Bob Supplier" in opened_by, opened_by
        self.shot(ann, "inbox-handler")

        ann.find_element(By.CSS_SELECTOR, "tr[data-thread='%s'] td.title a" % thread).click()
        self.wait(ann, lambda d: d.find_elements(By.ID, "body"), "the thread page")
        # A template fills the post box.
        Select(ann.find_element(By.ID, "template")).select_by_visible_text("Invoice received")
        value = ann.find_element(By.ID, "body").get_attribute("value")
        assert value.startswith("Thank you, we have received your invoice"), value
        ann.find_element(By.ID, "send").click()
        self.wait(ann, lambda d: d.find_elements(By.ID, "m2"), "the handler's answer")
        # Assign it to the second handler.
        Select(ann.find_element(By.ID, "assignee")).select_by_value("hal")
        ann.find_element(By.ID, "assign").click()
        self.wait(ann, lambda d: "Hal Second" in d.find_element(By.ID, "thread-handler").text, "the assignment")
        self.shot(ann, "thread-handler")

        # The supplier's open thread page shows the answer live and takes a dropped file.
        bob.get(self.server.base + "/threads/" + thread)
        self.wait(bob, lambda d: d.find_elements(By.ID, "m2"), "the answer in the supplier's page")
        bob.execute_script("""
            var zone = document.querySelector('[data-drop]');
            var data = new DataTransfer();
            data.items.add(new File(['delivery note 42'], 'delivery-note.txt', {type: 'text/plain'}));
            zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        """)
        self.wait(bob, lambda d: "delivery-note.txt" in d.find_element(By.CSS_SELECTOR, ".drop-list").text,
                  "the dropped file's name")
        bob.find_element(By.ID, "body").send_keys("Here is the delivery note.")
        bob.find_element(By.ID, "send").click()
        self.wait(bob, lambda d: d.find_elements(By.CSS_SELECTOR, "#m3 .attachments a"), "the attachment link")
        link = bob.find_element(By.CSS_SELECTOR, "#m3 .attachments a")
        assert link.text.startswith("delivery-note.txt"), link.text
        fetched = self.fetch(bob, link.get_attribute("href"))
        assert fetched[0] == 200 and fetched[2] == "delivery note 42", fetched
        assert 'filename="delivery-note.txt"' in (fetched[1] or ""), fetched
        self.shot(bob, "thread-supplier")
        bob.set_window_size(*PHONE)
        self.shot(bob, "thread-supplier-phone")
        ann.set_window_size(*PHONE)
        ann.get(self.server.base + "/inbox")
        self.shot(ann, "inbox-handler-phone")
        self.no_errors(ann)
        self.no_errors(bob)

    def fetch(self, driver, url):
        return driver.execute_async_script("""
            var done = arguments[arguments.length - 1];
            fetch(arguments[0]).then(function (r) {
              return r.text().then(function (t) { done([r.status, r.headers.get('Content-Disposition'), t]); });
            }).catch(function (e) { done([0, null, String(e)]); });
        """, url)

    def ticket_with_attachment(self):
        """A client opens a ticket with an attachment and resolves it: "OK, resolved"."""
        cara = self.browser()
        self.sign_in(cara, "cara")
        cara.get(self.server.base + "/threads/new")
        Select(cara.find_element(By.NAME, "kind")).select_by_value("ticket")
        cara.find_element(By.NAME, "title").send_keys("The meter shows the wrong reading")
        cara.find_element(By.NAME, "body").send_keys("Photo of the meter attached.")
        upload = os.path.join(self.server.dir, "meter-photo.txt")
        with open(upload, "w") as handle:
            handle.write("pretend this is a photo of a meter")
        cara.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(upload)
        self.shot(cara, "new-ticket")
        cara.find_element(By.ID, "open-thread").click()
        self.wait(cara, lambda d: d.find_elements(By.CSS_SELECTOR, "#m1 .attachments a"), "the ticket's attachment")
        heading = self.text(cara, "h1")
        assert heading.startswith("TT"), heading
        link = cara.find_element(By.CSS_SELECTOR, "#m1 .attachments a")
        fetched = self.fetch(cara, link.get_attribute("href"))
        assert fetched[0] == 200 and fetched[2] == "pretend this is a photo of a meter", fetched
        assert 'filename="meter-photo.txt"' in (fetched[1] or ""), fetched
        # An outsider with the same link gets the not-found page.
        bob = self.browser()
        self.sign_in(bob, "bob")
        bob.get(link.get_attribute("href"))
        assert "Not found" in self.text(bob, "h1"), bob.page_source[:500]
        cara.find_element(By.ID, "resolve").click()
        self.wait(cara, lambda d: d.find_element(By.ID, "thread-status").text == "Resolved", "the resolved status")
        self.shot(cara, "ticket-resolved")
        self.no_errors(cara)

    def subcontractor_filters(self):
        """A subcontractor filters the follow-up list by type (task) and priority (urgent)."""
        sam = self.browser()
        self.sign_in(sam, "sam")
        rows = sam.find_elements(By.CSS_SELECTOR, "table.inbox tbody tr")
        assert len(rows) == 4, len(rows)
        Select(sam.find_element(By.NAME, "type")).select_by_value("task")
        Select(sam.find_element(By.NAME, "priority")).select_by_value("urgent")
        sam.find_element(By.ID, "apply-filters").click()
        self.wait(sam, lambda d: "priority=urgent" in d.current_url, "the filtered inbox")
        titles = sorted(e.text for e in sam.find_elements(By.CSS_SELECTOR, "table.inbox td.title a"))
        assert titles == ["Check the valve", "Replace the meter at Main St 4"], titles
        assert Select(sam.find_element(By.NAME, "type")).first_selected_option.get_attribute("value") == "task"
        self.shot(sam, "inbox-filtered")
        sam.set_window_size(*PHONE)
        self.shot(sam, "inbox-filtered-phone")
        self.no_errors(sam)

    def markup_is_text(self):
        """A message `<script>alert(1)</script>` is shown as text and runs nothing."""
        bob = self.browser()
        self.sign_in(bob, "bob")
        bob.get(self.server.base + "/threads/new")
        Select(bob.find_element(By.NAME, "kind")).select_by_value("request")
        bob.find_element(By.NAME, "ref").send_keys("R-1")
        bob.find_element(By.NAME, "title").send_keys("<img src=x onerror=alert(2)>")
        bob.find_element(By.NAME, "body").send_keys("<script>alert(1)</script>")
        bob.find_element(By.ID, "open-thread").click()
        self.wait(bob, lambda d: d.find_elements(By.ID, "m1"), "the thread")
        time.sleep(0.5)
        self.no_alert(bob)
        assert self.text(bob, "#m1 .body") == "<script>alert(1)</script>", self.text(bob, "#m1 .body")
        assert "<img src=x onerror=alert(2)>" in self.text(bob, "h1")
        assert bob.execute_script("return document.querySelectorAll('main script, main img').length") == 0
        bob.get(self.server.base + "/inbox")
        time.sleep(0.3)
        self.no_alert(bob)

    def csrf_refused(self):
        """A form posted without its CSRF token is refused and changes nothing."""
        bob = self.browser()
        self.sign_in(bob, "sam")
        bob.get(self.server.base + "/inbox")
        bob.find_element(By.CSS_SELECTOR, "table.inbox td.title a").click()
        self.wait(bob, lambda d: d.find_elements(By.ID, "body"), "a thread page")
        count = len(bob.find_elements(By.CSS_SELECTOR, "li.message"))
        bob.execute_script("document.querySelectorAll('form.post input[name=csrf]').forEach(function (e) { e.remove(); })")
        bob.find_element(By.ID, "body").send_keys("forged")
        bob.find_element(By.ID, "send").click()
        # The thread page has a heading too: wait for the answer's, not for any.
        self.wait(bob, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "h1") if e.text == "Refused"], "the refusal")
        bob.back()
        bob.refresh()
        assert len(bob.find_elements(By.CSS_SELECTOR, "li.message")) == count
        assert "forged" not in bob.page_source


    # MARK: Administration

    def sign_in_admin(self, driver):
        driver.get(self.server.base + "/sign-in")
        driver.find_element(By.ID, "token").send_keys(ADMIN)
        driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button[type=submit]").click()
        self.wait(driver, lambda d: "/admin" in d.current_url, "the administration after signing in")

    def no_horizontal_overflow(self, driver, what):
        """The page fits the window's width: nothing makes the page itself scroll sideways."""
        widths = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] + 1, "%s overflows sideways: %r" % (what, widths)

    def admin_display_policy(self):
        """The administrator sets the author display policy to a custom mention in the settings page;
        the supplier, an outside reader, sees the mention instead of the handler's name."""
        api = self.server.api
        opened = api("POST", "/v1/threads", {"subject": {"kind": "contract", "ref": "C-2024-0042"},
                                             "title": "Delivery schedule", "body": "When is the next delivery?"},
                     token=self.world.tokens["bob"])
        thread = opened["id"]
        api("POST", "/v1/threads/%s/messages" % thread, {"body": "Next Tuesday."}, token=self.world.tokens["ann"])
        admin = self.browser()
        self.sign_in_admin(admin)
        admin.get(self.server.base + "/admin/settings")
        form = admin.find_element(By.CSS_SELECTOR, "form[action='/admin/settings/display']")
        Select(form.find_element(By.NAME, "mode")).select_by_value("custom")
        field = form.find_element(By.NAME, "text")
        field.clear()
        field.send_keys("Acme support team")
        sent = admin.find_element(By.TAG_NAME, "html")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # The page before the post has the same form: first wait for it to go.
        self.wait(admin, lambda d: staleness_of(sent)(d), "the settings form to be sent")
        self.wait(admin, lambda d: d.find_elements(By.CSS_SELECTOR, "form[action='/admin/settings/display']"),
                  "the settings page again")
        assert not admin.find_elements(By.ID, "admin-error"), self.text(admin, "#admin-error")
        form = admin.find_element(By.CSS_SELECTOR, "form[action='/admin/settings/display']")
        assert form.find_element(By.NAME, "text").get_attribute("value") == "Acme support team"
        assert Select(form.find_element(By.NAME, "mode")).first_selected_option.get_attribute("value") == "custom"
        self.shot(admin, "admin-settings")
        self.no_horizontal_overflow(admin, "the settings page")
        admin.set_window_size(*PHONE)
        admin.get(self.server.base + "/admin/settings")
        self.no_horizontal_overflow(admin, "the settings page on a phone")
        self.shot(admin, "admin-settings-phone")
        self.no_errors(admin)

        bob = self.browser()
        self.sign_in(bob, "bob")
        bob.get(self.server.base + "/threads/" + thread)
        self.wait(bob, lambda d: d.find_elements(By.ID, "m2"), "the handler's answer in the supplier's page")
        author = self.text(bob, "#m2 .author")
        assert author == "Acme support team", author
        assert "Ann Handler" not in bob.find_element(By.TAG_NAME, "main").text
        # The handler still sees who wrote it.
        ann = self.browser()
        self.sign_in(ann, "ann")
        ann.get(self.server.base + "/threads/" + thread)
        assert "Ann Handler" in self.text(ann, "#m2 .author"), self.text(ann, "#m2 .author")
        self.no_errors(bob)

    def admin_creates_user(self):
        """The administrator creates a user in the console's form and sees the token once; the token
        signs the new user in."""
        admin = self.browser()
        self.sign_in_admin(admin)
        admin.get(self.server.base + "/admin/users")
        form = admin.find_element(By.CSS_SELECTOR, "form[action='/admin/users']")
        form.find_element(By.NAME, "id").send_keys("dora")
        form.find_element(By.NAME, "name").send_keys("Dora Newcomer")
        form.find_element(By.NAME, "email").send_keys("dora@example.test")
        Select(form.find_element(By.NAME, "party")).select_by_value("sup")
        form.find_element(By.NAME, "roles").send_keys("supplier")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(admin, lambda d: d.find_elements(By.ID, "new-token"), "the new user's token")
        token = self.text(admin, "#new-token").strip()
        assert len(token) >= 20, token
        self.shot(admin, "admin-user-created")
        # Seen once: the list of users, visited again, does not show it.
        admin.get(self.server.base + "/admin/users")
        self.wait(admin, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-id='dora']"), "the new user in the list")
        assert token not in admin.page_source
        assert not admin.find_elements(By.ID, "new-token")
        admin.refresh()
        assert token not in admin.page_source
        self.shot(admin, "admin-users")
        admin.set_window_size(*PHONE)
        admin.get(self.server.base + "/admin/users")
        self.no_horizontal_overflow(admin, "the users page on a phone")
        self.shot(admin, "admin-users-phone")
        for page in ["/admin/parties", "/admin/structures", "/admin/categories"]:
            admin.get(self.server.base + page)
            self.no_horizontal_overflow(admin, page + " on a phone")
        self.no_errors(admin)

        dora = self.browser()
        dora.get(self.server.base + "/sign-in")
        dora.find_element(By.ID, "token").send_keys(token)
        dora.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button[type=submit]").click()
        self.wait(dora, lambda d: d.current_url.endswith("/inbox"), "the new user's inbox")
        assert "Dora Newcomer" in dora.find_element(By.TAG_NAME, "body").text

    def operations_page(self):
        """The operations page shows the log's position, the views with their checkpoints and the
        outbox's counts."""
        admin = self.browser()
        self.sign_in_admin(admin)
        admin.get(self.server.base + "/operations")
        position = self.text(admin, "#log-position")
        assert position.strip().isdigit() and int(position) > 0, position
        views = admin.find_elements(By.CSS_SELECTOR, "#views tbody tr[data-view]")
        assert views, admin.page_source[:1000]
        for row in views:
            cells = row.find_elements(By.TAG_NAME, "td")
            assert cells[1].text.strip().isdigit(), [c.text for c in cells]
        counts = [e for e in ("outbox-pending", "outbox-failed", "outbox-delivered") if admin.find_elements(By.ID, e)]
        if counts:
            for element in counts:
                assert self.text(admin, "#" + element).strip().isdigit(), element
        else:
            assert admin.find_elements(By.CSS_SELECTOR, "p.empty"), "neither outbox counts nor its absence"
        self.no_horizontal_overflow(admin, "the operations page")
        self.shot(admin, "operations")
        admin.set_window_size(*PHONE)
        admin.get(self.server.base + "/operations")
        self.no_horizontal_overflow(admin, "the operations page on a phone")
        self.shot(admin, "operations-phone")
        self.no_errors(admin)

    def mail_sign_in_link(self):
        """A user asks for a sign-in link, reads it in the mail, opens it, confirms and is signed in."""
        cara = self.browser()
        cara.get(self.server.base + "/sign-in")
        cara.find_element(By.CSS_SELECTOR, "a[href='/sign-in/link']").click()
        self.wait(cara, lambda d: d.find_elements(By.ID, "email"), "the sign-in link form")
        cara.find_element(By.ID, "email").send_keys("cara@example.test")
        cara.find_element(By.CSS_SELECTOR, "form[action='/sign-in/link'] button[type=submit]").click()
        self.wait(cara, lambda d: d.find_elements(By.ID, "link-sent"), "the page that says the link is sent")
        prefix = PUBLIC_URL + "/sign-in/link/"

        def link(_):
            for text in self.mail.mails_to("cara@example.test"):
                match = re.search(re.escape(prefix) + r"([A-Za-z0-9_-]+)", text)
                if match:
                    return match.group(1)
            return None
        token = self.wait(cara, link, "the sign-in link's mail", timeout=30)
        cara.get(self.server.base + "/sign-in/link/" + token)
        self.wait(cara, lambda d: d.find_elements(By.ID, "use-link"), "the confirmation page")
        self.shot(cara, "sign-in-link-confirm")
        cara.find_element(By.ID, "use-link").click()
        self.wait(cara, lambda d: d.current_url.endswith("/inbox"), "the inbox after the link")
        assert "Cara Client" in cara.find_element(By.TAG_NAME, "body").text
        self.no_errors(cara)

    def user_pages_fit_a_phone(self):
        """Every user page fits a phone's width."""
        bob = self.browser(PHONE)
        self.sign_in(bob, "bob")
        for page in ["/inbox", "/threads/new", "/sign-in/link"]:
            bob.get(self.server.base + page)
            self.no_horizontal_overflow(bob, page)
        bob.get(self.server.base + "/inbox")
        links = bob.find_elements(By.CSS_SELECTOR, "table.inbox td.title a")
        if links:
            links[0].click()
            self.wait(bob, lambda d: d.find_elements(By.ID, "body"), "a thread page")
            self.no_horizontal_overflow(bob, "a thread page")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threadlog", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--only")
    arguments = parser.parse_args()
    os.makedirs(arguments.screenshots, exist_ok=True)
    mail = MailServer()
    try:
        server = Server(os.path.abspath(arguments.threadlog), mail)
    except Exception:
        mail.stop()
        raise
    passed = failed = 0
    try:
        world = World(server)
        scenarios = Scenarios(server, world, arguments.screenshots, mail)
        for name in ["contract_chat", "ticket_with_attachment", "subcontractor_filters", "markup_is_text",
                     "csrf_refused", "admin_display_policy", "admin_creates_user", "operations_page",
                     "mail_sign_in_link", "user_pages_fit_a_phone"]:
            if arguments.only and arguments.only != name:
                continue
            start = time.time()
            try:
                getattr(scenarios, name)()
                passed += 1
                print("ok   %s (%.1fs)" % (name, time.time() - start), flush=True)
            except Exception:
                failed += 1
                print("FAIL %s (%.1fs)" % (name, time.time() - start), flush=True)
                traceback.print_exc()
                for index, driver in enumerate(scenarios.drivers):
                    try:
                        driver.save_screenshot(os.path.join(arguments.screenshots, "failed-%s-%d.png" % (name, index)))
                    except Exception:
                        pass
            finally:
                scenarios.close_all()
    finally:
        server.stop()
        mail.stop()
    print("browser: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
