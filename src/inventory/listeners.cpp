#include "inventory/listeners.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <utility>

#include "core/text.h"

namespace mamori::inventory {

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The kernel prints addresses as host-order 32-bit words in hex (little-endian here).
bool decode_addr(std::string_view hex, std::string& out, bool& loopback) {
  if (hex.size() != 8 && hex.size() != 32) return false;
  unsigned char bytes[16];
  size_t n = hex.size() / 2;
  for (size_t i = 0; i < n; ++i) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  // Reverse each 4-byte word to network order.
  for (size_t w = 0; w < n; w += 4) {
    std::swap(bytes[w], bytes[w + 3]);
    std::swap(bytes[w + 1], bytes[w + 2]);
  }
  if (n == 4) {
    out = fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
    loopback = bytes[0] == 127;
    return true;
  }
  bool v4mapped = true;
  for (int i = 0; i < 10; ++i) v4mapped &= bytes[i] == 0;
  v4mapped &= bytes[10] == 0xff && bytes[11] == 0xff;
  if (v4mapped) {
    out = fmt::format("[::ffff:{}.{}.{}.{}]", bytes[12], bytes[13], bytes[14], bytes[15]);
    loopback = bytes[12] == 127;
    return true;
  }
  std::string s = "[";
  for (int i = 0; i < 16; i += 2) {
    if (i) s += ":";
    s += fmt::format("{:x}", (bytes[i] << 8) | bytes[i + 1]);
  }
  s += "]";
  bool all_zero = true, one = true;
  for (int i = 0; i < 16; ++i) {
    all_zero &= bytes[i] == 0;
    one &= bytes[i] == (i == 15 ? 1 : 0);
  }
  out = all_zero ? "[::]" : one ? "[::1]" : s;
  loopback = one;
  return true;
}

}  // namespace

std::vector<Listener> parse_proc_net(std::string_view text, std::string_view protocol) {
  std::vector<Listener> out;
  bool udp = protocol.starts_with("udp");
  size_t pos = 0;
  std::string_view line;
  bool header = true;
  while (next_line(text, pos, line)) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string_view> f;
    for (auto part : split(trim(line), ' '))
      if (!part.empty()) f.push_back(part);
    if (f.size() < 10) continue;
    std::string_view state = f[3];
    if (state != (udp ? "07" : "0A")) continue;
    std::string_view local = f[1];
    size_t colon = local.find(':');
    if (colon == std::string_view::npos) continue;
    Listener l;
    l.protocol = std::string(protocol);
    std::string addr;
    if (!decode_addr(local.substr(0, colon), addr, l.loopback)) continue;
    std::string_view port_hex = local.substr(colon + 1);
    if (port_hex.empty() || port_hex.size() > 4) continue;
    int port = 0;
    bool good = true;
    for (char c : port_hex) {
      int h = hexval(c);
      if (h < 0) good = false;
      port = port * 16 + std::max(h, 0);
    }
    if (!good) continue;
    l.port = port;
    l.address = fmt::format("{}:{}", addr, l.port);
    std::string inode(f[9]);
    l.inode = std::strtoul(inode.c_str(), nullptr, 10);
    out.push_back(std::move(l));
  }
  return out;
}

namespace {

// inode → (pid, exe) through /proc/PID/fd/* links "socket:[INODE]", for the wanted inodes.
std::map<unsigned long, std::pair<int, std::string>> socket_owners(
    const Root& root, const std::set<unsigned long>& wanted) {
  std::map<unsigned long, std::pair<int, std::string>> owner;
  if (wanted.empty()) return owner;
  for (const auto& pd : root.list("/proc")) {
    std::string name = pd.substr(pd.rfind('/') + 1);
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    for (const auto& fd : root.list(pd + "/fd")) {
      auto target = root.readlink(fd);
      if (!target || !target->starts_with("socket:[")) continue;
      unsigned long ino = std::strtoul(target->c_str() + 8, nullptr, 10);
      if (!wanted.contains(ino) || owner.contains(ino)) continue;
      std::string exe = root.readlink(pd + "/exe").value_or("");
      const std::string deleted = " (deleted)";  // upgraded while running
      if (exe.ends_with(deleted)) exe.resize(exe.size() - deleted.size());
      owner[ino] = {std::atoi(name.c_str()), exe};
    }
  }
  return owner;
}

}  // namespace

std::vector<Listener> listening_sockets(const Root& root) {
  std::vector<Listener> all;
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6"}) {
    auto text = root.read(std::string("/proc/net/") + proto, 64 << 20);
    if (!text) continue;
    for (auto& l : parse_proc_net(*text, proto)) all.push_back(std::move(l));
  }
  if (all.empty()) return all;
  std::set<unsigned long> wanted;
  for (const auto& l : all) wanted.insert(l.inode);
  auto owner = socket_owners(root, wanted);
  std::set<std::string> exes;
  for (auto& l : all) {
    auto it = owner.find(l.inode);
    if (it == owner.end()) continue;
    l.pid = it->second.first;
    l.exe = it->second.second;
    if (!l.exe.empty()) exes.insert(l.exe);
  }
  // Owning dpkg package: the *.list file naming the executable (also its /usr-merged alias).
  std::map<std::string, std::string> pkg_of;
  if (!exes.empty()) {
    std::set<std::string> needles;
    for (const auto& e : exes) {
      needles.insert(e);
      if (e.starts_with("/usr/"))
        needles.insert(e.substr(4));  // /usr/sbin/x ↔ /sbin/x
      else
        needles.insert("/usr" + e);
    }
    for (const auto& list : root.list("/var/lib/dpkg/info", "*.list")) {
      auto text = root.read(list, 16 << 20);
      if (!text) continue;
      size_t pos = 0;
      std::string_view line;
      while (next_line(*text, pos, line)) {
        if (!needles.contains(std::string(line))) continue;
        std::string pkg = list.substr(list.rfind('/') + 1);
        pkg = pkg.substr(0, pkg.size() - 5);  // ".list"
        pkg = pkg.substr(0, pkg.find(':'));   // "libfoo:amd64.list"
        std::string key(line);
        pkg_of[key] = pkg;
        if (key.starts_with("/usr/"))
          pkg_of[key.substr(4)] = pkg;
        else
          pkg_of["/usr" + key] = pkg;
      }
    }
  }
  for (auto& l : all) {
    auto it = pkg_of.find(l.exe);
    if (it != pkg_of.end()) l.package = it->second;
  }
  return all;
}

std::vector<std::string> session_peers(const Root& root,
                                       const std::vector<std::string>& exe_names) {
  struct Est {
    unsigned long inode;
    std::string peer;
  };
  std::vector<Est> est;
  for (const char* proto : {"tcp", "tcp6"}) {
    auto text = root.read(std::string("/proc/net/") + proto, 64 << 20);
    if (!text) continue;
    size_t pos = 0;
    std::string_view line;
    bool header = true;
    while (next_line(*text, pos, line)) {
      if (std::exchange(header, false)) continue;
      std::vector<std::string_view> f;
      for (auto part : split(trim(line), ' '))
        if (!part.empty()) f.push_back(part);
      if (f.size() < 10 || f[3] != "01") continue;  // ESTABLISHED
      std::string_view remote = f[2];
      size_t colon = remote.find(':');
      if (colon == std::string_view::npos) continue;
      std::string addr;
      bool loop = false;
      if (!decode_addr(remote.substr(0, colon), addr, loop)) continue;
      // "[::ffff:192.0.2.7]" → "192.0.2.7", "[2001:db8::1]" → "2001:db8::1"
      if (addr.starts_with("[::ffff:"))
        addr = addr.substr(8, addr.size() - 9);
      else if (addr.starts_with("["))
        addr = addr.substr(1, addr.size() - 2);
      est.push_back({std::strtoul(std::string(f[9]).c_str(), nullptr, 10), addr});
    }
  }
  if (est.empty()) return {};
  // Every process: its parent and executable; the holders of the established sockets.
  struct Proc {
    int ppid = 0;
    std::string exe_base;
    bool root = false;  // runs as uid 0 (the owner of /proc/PID is its effective uid)
  };
  std::map<int, Proc> procs;
  std::map<unsigned long, std::vector<int>> holders;
  std::set<unsigned long> wanted;
  for (const auto& e : est) wanted.insert(e.inode);
  for (const auto& pd : root.list("/proc")) {
    std::string name = pd.substr(pd.rfind('/') + 1);
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::atoi(name.c_str());
    Proc pr;
    // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses, so from the last ')'
    if (auto stat = root.read(pd + "/stat", 1 << 16)) {
      size_t rp = stat->rfind(')');
      if (rp != std::string::npos && rp + 4 < stat->size())
        pr.ppid = std::atoi(stat->c_str() + rp + 4);
    }
    std::string exe = root.readlink(pd + "/exe").value_or("");
    const std::string deleted = " (deleted)";
    if (exe.ends_with(deleted)) exe.resize(exe.size() - deleted.size());
    pr.exe_base = exe.substr(exe.rfind('/') + 1);
    if (auto st = root.stat(pd, /*follow_last=*/false)) pr.root = st->st_uid == 0;
    procs[pid] = std::move(pr);
    for (const auto& fd : root.list(pd + "/fd")) {
      auto target = root.readlink(fd);
      if (!target || !target->starts_with("socket:[")) continue;
      unsigned long ino = std::strtoul(target->c_str() + 8, nullptr, 10);
      if (wanted.contains(ino)) holders[ino].push_back(pid);
    }
  }
  auto is_named = [&](const std::string& base) {
    return std::find(exe_names.begin(), exe_names.end(), base) != exe_names.end();
  };
  // A logged-in session runs something that is not the daemon (a shell, sftp-server, a
  // command) below the daemon's process for that connection; a connection still
  // authenticating never does. (Kernel facts only: parents and executables.)
  std::set<int> with_program;  // daemon processes with such a descendant
  for (const auto& [pid, pr] : procs) {
    if (pr.exe_base.empty() || is_named(pr.exe_base)) continue;
    int up = pr.ppid;
    for (int depth = 0; depth < 16 && up > 1; ++depth) {
      auto it = procs.find(up);
      if (it == procs.end()) break;
      if (is_named(it->second.exe_base)) with_program.insert(up);
      up = it->second.ppid;
    }
  }
  std::set<std::string> out;
  for (const auto& e : est) {
    auto h = holders.find(e.inode);
    if (h == holders.end()) continue;
    // the daemon's monitor for the connection runs as root: a user's program that merely
    // calls itself "sshd" (a copied binary) never vouches for an address
    bool daemon = false, logged_in = false;
    for (int pid : h->second) {
      auto it = procs.find(pid);
      if (it == procs.end() || !is_named(it->second.exe_base)) continue;
      daemon |= it->second.root;
      logged_in |= with_program.contains(pid);
    }
    if (daemon && logged_in) out.insert(e.peer);
  }
  return {out.begin(), out.end()};
}

}  // namespace mamori::inventory
