#!/usr/bin/env python3
"""Golden outputs: the JSON of `scan`, `audit`, `fim check` and `guard scan-log` on fixed inputs
must stay the same byte for byte (after the normalisation below) when the code is reorganised.

The golden files live in tests/golden/. After a change that is meant to alter an output, write
them again with MAMORI_UPDATE_GOLDEN=1 and read the diff before committing it: the diff is the
change in behaviour.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ["MAMORI_BIN"]
FIXTURES = os.environ["MAMORI_FIXTURES"]
SHARED = os.environ["MAMORI_SHARED"]
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
UPDATE = os.environ.get("MAMORI_UPDATE_GOLDEN") == "1"

# What legitimately differs from run to run: the clock and where the run's files are.
TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b")
KEY = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")  # a fresh signing key each run
INODE = re.compile(r"inode: \d+ → \d+")  # the file system's choice


def clock_time(m):
    """A time within a day of now is the run's clock (kept: times read from the inputs)."""
    import datetime
    t = datetime.datetime.strptime(m.group(0)[:19], "%Y-%m-%dT%H:%M:%S")
    now = datetime.datetime.utcnow()
    return "<time>" if abs((now - t).total_seconds()) < 86400 else m.group(0)


def normalise(text, places):
    text = KEY.sub("<fingerprint>", TIME.sub(clock_time, text))
    text = INODE.sub("inode: <a> → <b>", text)
    for path, name in places:
        text = text.replace(path, name)
    return text


class Golden(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mamori-golden-")
        self.env = dict(os.environ, TZ="UTC", MAMORI_STATE_DIR=os.path.join(self.tmp, "state"))
        self.env.pop("NO_COLOR", None)
        self.places = [(self.tmp, "<tmp>"), (FIXTURES, "<fixtures>")]

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_json(self, *args, codes=(0, 1)):
        p = subprocess.run([BIN, "--format", "json", *args], capture_output=True, text=True,
                           env=self.env, timeout=300)
        self.assertIn(p.returncode, codes, f"mamori {' '.join(args)}\n{p.stderr}")
        json.loads(p.stdout)  # it is JSON
        return p.stdout

    def compare(self, name, text):
        text = normalise(text, self.places)
        path = os.path.join(GOLDEN, name + ".json")
        if UPDATE:
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            return
        with open(path) as f:
            want = f.read()
        if text != want:
            import difflib
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                "golden/" + name + ".json", "now", n=2))
            self.fail(f"{name}: output differs from the golden file\n{diff[:6000]}")

    def vuln_db(self):
        db = os.path.join(self.tmp, "vuln.db")
        v = os.path.join(FIXTURES, "vuln")
        subprocess.run([BIN, "--db", db, "-q", "db", "import",
                        *(os.path.join(v, f) for f in (
                            "lang.jsonl", "friendsofphp.jsonl", "wordpress.json", "kev.json",
                            "epss.csv", "osv-debian10.jsonl", "osv-alma.json", "osv-ubuntu.jsonl"))],
                       check=True, capture_output=True, env=self.env)
        return db

    def test_scan(self):
        db = self.vuln_db()
        names = ("debian10", "alma9", "alpine", "ubuntu2404", "ubuntu2410")
        for name in names:
            store = os.path.join(self.tmp, name + ".db")
            out = self.run_json("--root", os.path.join(FIXTURES, "inventory", name), "--store",
                                store, "--db", db, "--host", name, "-q", "scan")
            self.compare("scan-" + name, out)
        # without a vulnerability database (none in the state directory): the finding that says
        # so, and everything else
        out = self.run_json("--root", os.path.join(FIXTURES, "inventory", "debian10"), "--store",
                            os.path.join(self.tmp, "nodb.db"), "--host", "h", "-q", "scan")
        self.compare("scan-debian10-no-db", out)

    def test_audit(self):
        subprocess.run([sys.executable, os.path.join(SHARED, "bench/audit/make_fixture.py"),
                        self.tmp], check=True, capture_output=True)
        for tree in ("weak", "hardened"):
            root = os.path.join(self.tmp, tree)
            store = os.path.join(self.tmp, tree + ".db")
            self.compare("audit-" + tree, self.run_json("--root", root, "--store", store, "--host",
                                                        tree, "-q", "audit"))
            self.compare("audit-checks-" + tree,
                         self.run_json("--root", root, "--store", store, "--host", tree, "-q",
                                       "audit", "--checks"))

    def test_fim_check(self):
        root = os.path.join(self.tmp, "root")
        files = {"var/www/shop/index.php": "<?php echo 1;\n", "var/www/shop/cart.php": "cart\n",
                 "var/www/shop/old.php": "old\n", "usr/bin/tool": "tool\n",
                 "usr/bin/mode": "mode\n", "etc/app.conf": "a=1\n", "etc/touched.conf": "t\n"}
        for rel, body in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(body)
        os.symlink("tool", os.path.join(root, "usr/bin/link"))
        self.stamp(root)
        args = ("--root", root, "--store", os.path.join(self.tmp, "fim.db"), "--host", "web01",
                "-q")
        subprocess.run([BIN, *args, "fim", "init", "/var/www", "/usr/bin", "/etc"], check=True,
                       capture_output=True, env=self.env)
        self.compare("fim-check-clean", self.run_json(*args, "fim", "check"))
        # one of each kind of change
        with open(os.path.join(root, "var/www/shop/.x.php"), "w") as f:
            f.write("<?php eval($_POST[1]);")
        with open(os.path.join(root, "var/www/shop/cart.php"), "w") as f:
            f.write("cart + skimmer\n")
        os.remove(os.path.join(root, "var/www/shop/old.php"))
        os.chmod(os.path.join(root, "usr/bin/mode"), 0o4755)
        with open(os.path.join(root, "etc/app.conf"), "w") as f:
            f.write("a=2\n")
        # made before the old one goes, so that it never gets the old one's inode number back
        os.symlink("mode", os.path.join(root, "usr/bin/link.new"))
        os.rename(os.path.join(root, "usr/bin/link.new"), os.path.join(root, "usr/bin/link"))
        self.stamp(root, 1700000500)
        os.utime(os.path.join(root, "etc/touched.conf"), (1700000900, 1700000900))
        self.compare("fim-check-changed", self.run_json(*args, "fim", "check"))
        self.compare("fim-check-changed-full", self.run_json(*args, "fim", "check", "--full"))

    @staticmethod
    def stamp(root, t=1700000000):
        for d, _, names in os.walk(root):
            for n in names:
                os.utime(os.path.join(d, n), (t, t), follow_symlinks=False)

    def test_guard_scan_log(self):
        log = os.path.join(self.tmp, "auth.log")
        subprocess.run([sys.executable, os.path.join(SHARED, "bench/authlog/gen_authlog.py"),
                        "--lines", "20000", "--seed", "7", "--ip-space", "public", "--out", log],
                       check=True, capture_output=True)
        self.compare("guard-scan-log", self.run_json("guard", "scan-log", log, "--year", "2024"))
        journal = os.path.join(self.tmp, "export.txt")
        subprocess.run([sys.executable, os.path.join(SHARED, "bench/authlog/gen_authlog.py"),
                        "--lines", "20000", "--seed", "8", "--format", "export", "--out", journal],
                       check=True, capture_output=True)
        self.compare("guard-scan-log-export", self.run_json("guard", "scan-log", journal))


if __name__ == "__main__":
    unittest.main()
