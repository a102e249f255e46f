#pragma once
// Listening sockets and the programs behind them, read from procfs under a root
// (/proc/net/{tcp,tcp6,udp,udp6}, /proc/PID/fd, /proc/PID/exe) and mapped to the dpkg
// package that owns the executable (/var/lib/dpkg/info/*.list). Used to tell whether a
// vulnerable package is exposed to the network.
//
// Example:
//   for (const Listener& l : listening_sockets(Root("/")))
//     if (!l.loopback) fmt::print("{} {} {}\n", l.address, l.exe, l.package);

#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"

namespace mamori::inventory {

struct Listener {
  std::string protocol;  // tcp, tcp6, udp, udp6
  std::string address;   // "0.0.0.0:22", "[::]:443"
  int port = 0;
  bool loopback = false;  // bound to 127.0.0.0/8 or ::1 only
  unsigned long inode = 0;
  int pid = 0;          // 0 when no process could be found (no permission, other namespace)
  std::string exe;      // "/usr/sbin/sshd"
  std::string package;  // owning dpkg package, "" when unknown
};

// Parses one /proc/net/{tcp,udp}[6] table: listening TCP sockets (state 0A) and bound UDP
// sockets (state 07). Malformed lines are skipped.
std::vector<Listener> parse_proc_net(std::string_view text, std::string_view protocol);

// All listeners under the root, with their processes and owning packages where known.
std::vector<Listener> listening_sockets(const Root& root);

// The remote addresses of logged-in sessions: established TCP connections held by processes
// whose executable's base name is one of `exe_names` ("sshd", "sshd-session"), one of them
// running as root (the per-connection monitor: a user's copied binary named sshd is not), and that
// run another program below them (the shell, sftp-server, a command) — a connection still
// authenticating never does. Who is logged in over SSH now, from the kernel's tables only (no
// log line, no utmp record involved).
std::vector<std::string> session_peers(const Root& root, const std::vector<std::string>& exe_names);

}  // namespace mamori::inventory
