// Every check of `mamori audit`, in the order it runs: the one place its id, title, severity,
// rationale and remediation are written. `audit --checks` lists these rows; docs/audit.md's
// tables are compared with them by a test (AuditTable.DocsListEveryCheckWithItsSeverity).
#include <cstdlib>
#include <string_view>

#include "audit/audit.h"

namespace mamori::audit {

const std::vector<CheckInfo>& check_table() {
  static const std::vector<CheckInfo> table = {
      {"EXPOSE-SSH", "SSH is reachable from the network", Severity::kMedium,
       "Internet-facing SSH is scanned and password-guessed around the clock; every exposed "
       "login is a way in when a password leaks or a vulnerability appears.",
       "Allow SSH only from the addresses that need it (VPN, office, vendor): an nftables rule "
       "such as 'ip saddr 203.0.113.0/24 tcp dport 22 accept' before a 'policy drop', or "
       "ListenAddress on an internal interface; use keys, not passwords."},
      {"EXPOSE-RDP", "Remote desktop (RDP) is reachable from the network", Severity::kCritical,
       "Exposed RDP is the most common way ransomware crews get in: guessed or bought "
       "passwords, and pre-authentication vulnerabilities.",
       "Do not expose RDP: reach it through a VPN or an SSH tunnel, bind xrdp to 127.0.0.1 "
       "(port=tcp://127.0.0.1:3389 in /etc/xrdp/xrdp.ini), or drop 3389/tcp in the firewall."},
      {"EXPOSE-VNC", "VNC is reachable from the network", Severity::kCritical,
       "VNC authenticates with at most 8-character passwords and sends the session "
       "unencrypted; exposed VNC servers are found and entered within hours.",
       "Bind the VNC server to localhost (-localhost / x11vnc -localhost) and reach it through "
       "an SSH tunnel or VPN; drop 5900-5999/tcp in the firewall."},
      {"EXPOSE-TELNET", "Telnet is reachable from the network", Severity::kCritical,
       "Telnet sends passwords in clear text and is a favourite of botnets.",
       "Remove the telnet server (apt purge telnetd inetutils-telnetd) and use SSH."},
      {"EXPOSE-MGMT", "An administration console or API is reachable from the network",
       Severity::kHigh,
       "Web admin consoles (Webmin, Cockpit, Proxmox), IPMI and container APIs give full "
       "control of the machine; they are prime targets for credential stuffing and exploits.",
       "Bind the console to localhost or a management network, or allow only admin addresses "
       "in the firewall; never expose Docker's API without TLS client certificates."},
      {"EXPOSE-LOOPBACK-ONLY", "A database or internal service listens on a network address",
       Severity::kHigh,
       "Databases, caches and file-sharing services are meant for local or internal clients; "
       "on a public address they are brute-forced or read without authentication.",
       "Bind the service to 127.0.0.1 (bind-address, listen_addresses, bind) or an internal "
       "address, and drop its port in the firewall."},
      {"SSH-PASSWORD-AUTH", "SSH accepts passwords", Severity::kHigh,
       "Password logins can be guessed, sprayed or replayed from a leak; keys (and "
       "a second factor) cannot be brute-forced.",
       "Set 'PasswordAuthentication no' in the FIRST file sshd reads that sets it "
       "(drop-ins in /etc/ssh/sshd_config.d/ come first on Debian: look for "
       "'PasswordAuthentication yes' there, e.g. 50-cloud-init.conf), also inside "
       "Match blocks; check with 'sshd -T | grep passwordauth'; reload sshd."},
      {"SSH-ROOT-LOGIN", "SSH allows root to log in (PermitRootLogin yes)", Severity::kHigh,
       "root is the account every attacker tries first, and its logins cannot be "
       "told apart per person.",
       "Set 'PermitRootLogin no' (or 'prohibit-password' for key-only automation) "
       "globally and in every Match block; log in as a named user and use sudo."},
      {"SSH-MFA", "SSH logins need only one factor", Severity::kMedium,
       "A single factor — a key file or a password — is what gets stolen; a second "
       "factor stops the login with stolen credentials.",
       "Require two methods: 'AuthenticationMethods publickey,keyboard-interactive' "
       "with 'KbdInteractiveAuthentication yes', 'UsePAM yes' and "
       "'auth required pam_google_authenticator.so' (or pam_u2f, pam_oath, "
       "pam_duo) in /etc/pam.d/sshd."},
      {"SSH-EMPTY-PASSWORDS", "SSH lets accounts with empty passwords in", Severity::kCritical,
       "An empty password is no password.", "Set 'PermitEmptyPasswords no' (the default)."},
      {"SSH-MAX-AUTH-TRIES", "SSH allows many password tries per connection", Severity::kLow,
       "Each connection may try MaxAuthTries passwords; a low value slows guessing "
       "and makes it visible sooner.",
       "Set 'MaxAuthTries 4' (or lower)."},
      {"SSH-WEAK-CRYPTO", "SSH offers weak ciphers, MACs or key exchanges", Severity::kMedium,
       "CBC ciphers, 3DES/arcfour, MD5 or truncated MACs and SHA-1 key exchanges "
       "are broken or downgrade targets.",
       "Remove them from Ciphers, MACs and KexAlgorithms, or delete those lines "
       "to get OpenSSH's defaults."},
      {"SSH-KEYS-NO-FROM", "A vendor or service account's SSH key works from anywhere",
       Severity::kMedium,
       "Keys handed to vendors and tools are copied, shared and rarely revoked; "
       "restricted to the addresses they come from, a leaked key is useless elsewhere.",
       "Prefix the key with from=\"VENDOR_NET\" (and restrict=, command= where it "
       "only runs one thing) in the account's authorized_keys; remove keys nobody "
       "can name."},
      {"PAM-NULLOK", "PAM accepts empty passwords (pam_unix nullok)", Severity::kMedium,
       "With nullok, an account whose password field is empty logs in without a "
       "password through every service that uses this stack.",
       "Remove 'nullok' from the pam_unix.so auth line in "
       "/etc/pam.d/common-auth (and any service file that has it)."},
      {"PW-POLICY-MINLEN", "Passwords may be short", Severity::kMedium,
       "Short passwords fall to guessing and cracking; length matters more than "
       "character classes.",
       "Install libpam-pwquality, keep 'password requisite pam_pwquality.so' in "
       "/etc/pam.d/common-password and set 'minlen = 14' in "
       "/etc/security/pwquality.conf."},
      {"PW-HASH-DEFAULT", "New passwords are hashed with a weak scheme", Severity::kMedium,
       "Every password set from now on is stored with this scheme; MD5-crypt "
       "and DES fall to offline cracking within hours once /etc/shadow leaks.",
       "Use yescrypt: 'ENCRYPT_METHOD YESCRYPT' in /etc/login.defs and the "
       "'yescrypt' option (instead of md5/sha256/bigcrypt) on pam_unix.so in "
       "/etc/pam.d/common-password; then have users change their passwords."},
      {"SHADOW-WEAK-HASH", "Passwords are stored with a weak hash", Severity::kHigh,
       "A leaked /etc/shadow with DES, MD5 or low-round hashes gives the passwords "
       "back within hours; they are often reused elsewhere.",
       "Have these users set a new password (passwd USER) after fixing "
       "PW-HASH-DEFAULT, or lock unused accounts (usermod -L USER)."},
      {"SHADOW-EMPTY-PASSWORD", "An account has an empty password", Severity::kCritical,
       "Anyone can log in as this account wherever PAM allows empty passwords "
       "(nullok) or su from a local account.",
       "Lock the account (passwd -l USER) or set a password; remove 'nullok'."},
      {"PW-LOCKOUT", "Password guessing is not slowed by a lockout", Severity::kLow,
       "Where passwords are accepted over the network, a lockout (pam_faillock) "
       "turns millions of guesses into a handful per account and per hour.",
       "Add pam_faillock to /etc/pam.d/common-auth ('auth required pam_faillock.so "
       "preauth' before pam_unix, 'auth [default=die] pam_faillock.so authfail' "
       "after it, 'account required pam_faillock.so'), with deny=5 unlock_time=900 "
       "in /etc/security/faillock.conf; or turn password logins off (SSH keys)."},
      {"PKG-OUTDATED-REMOTE", "Remote-access software has a known critical vulnerability",
       Severity::kCritical,
       "The login service itself is the door; a pre-authentication hole in it needs "
       "no password at all.",
       "Upgrade now: apt-get update && apt-get install --only-upgrade PACKAGE; then "
       "restart the service."},
      {"CRED-NOT-ROTATED", "Passwords were not changed after a critical fix", Severity::kHigh,
       "A hole that gave attackers the machine also gave them /etc/shadow and any "
       "password typed in; installing the fix does not take those back.",
       "Have these users set new passwords (passwd USER, or chage -d 0 USER to force "
       "it at the next login) and replace SSH keys and VPN credentials issued before "
       "the fix."},
      {"REMOTE-ACCESS-SOFTWARE", "Remote-access software installed", Severity::kInfo,
       "VPN, remote desktop and SSH servers are the maintenance path: their updates "
       "and exposure come first.",
       "Keep only what is used; give each an owner (mamori owners set) who patches it."},
      {"FIREWALL-ACTIVE", "No firewall filters incoming connections", Severity::kMedium,
       "Without an input filter, every service that listens on a network address — "
       "including ones started later by mistake — is reachable.",
       "Load a ruleset with 'policy drop' on the input hook that accepts only what "
       "must be reachable (apt install nftables; edit /etc/nftables.conf; systemctl "
       "enable --now nftables), or enable ufw ('ufw default deny incoming; ufw allow "
       "from ADMIN_NET to any port 22; ufw enable')."},
  };
  return table;
}

const CheckInfo& check_info(std::string_view id) {
  for (const auto& c : check_table())
    if (c.id == id) return c;
  std::abort();  // a check that is not in the table is a bug
}

}  // namespace mamori::audit
