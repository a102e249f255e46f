#include "guard/nft.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/fd.h"
#include "guard/allow.h"
#include "guard/authlog.h"

extern char** environ;

namespace mamori::guard {

namespace {
// No element outlives the store's longest ban (30 days) by much: a row that says year 2286
// must not become a ban nft refuses (or one that never ends).
constexpr int64_t kMaxBanSeconds = 31 * 86400;
}  // namespace

Result<std::string> canonical_element(const std::string& spec, bool& v6) {
  Ip ip;
  int bits = 0;
  if (!parse_prefix(spec, ip, bits)) return Error::invalid("not an address or prefix: " + spec);
  v6 = !ip.v4;
  if (bits == (ip.v4 ? 32 : 128)) return ip.str();
  // the host bits zeroed: nft refuses "198.19.7.5/24"
  return fmt::format("{}/{}", masked(ip, ip.v4 ? bits + 96 : bits).str(), bits);
}

Result<std::string> NftBans::run(const std::string& script, const std::vector<std::string>& args) {
  // the child's stdin and stdout/stderr; each end is closed by its owner whatever happens
  UniqueFd in_r, in_w, out_r, out_w;
  for (auto [r, w] : {std::pair{&in_r, &in_w}, std::pair{&out_r, &out_w}}) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::internal(std::string("pipe: ") + strerror(errno));
    r->reset(p[0]);
    w->reset(p[1]);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 2);
  std::vector<std::string> argv_s = {nft_};
  for (const auto& a : args) argv_s.push_back(a);
  if (args.empty()) argv_s.insert(argv_s.end(), {"-f", "-"});
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, nft_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  in_r.reset();  // the child's ends: ours closed, so that end-of-file reaches both sides
  out_w.reset();
  if (rc != 0) {
    return Error::unavailable(
        fmt::format("cannot run {}: {} (apt install nftables)", nft_, strerror(rc)));
  }
  // Feed the script and read the output without deadlocking on full pipes.
  std::string output;
  size_t written = 0;
  if (script.empty()) in_w.reset();
  for (;;) {
    pollfd p[2] = {{out_r.get(), POLLIN, 0}, {in_w ? in_w.get() : -1, POLLOUT, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (in_w && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in_w.get(), script.data() + written, script.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == script.size()) in_w.reset();
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = ::read(out_r.get(), buf, sizeof buf);
      if (n <= 0) break;
      if (output.size() < (64u << 20)) output.append(buf, static_cast<size_t>(n));
    }
  }
  in_w.reset();
  out_r.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string first = output.substr(0, output.find('\n'));
    return Error::unavailable(fmt::format("nft failed: {}", first.empty() ? "no output" : first));
  }
  return output;
}

Status NftBans::ensure() {
  auto r =
      run("table inet mamori_guard {\n"
          "  set ban4 { type ipv4_addr; flags interval, timeout; }\n"
          "  set ban6 { type ipv6_addr; flags interval, timeout; }\n"
          "  chain input { type filter hook input priority filter - 10; policy accept; }\n"
          "}\n"
          "flush chain inet mamori_guard input\n"
          "add rule inet mamori_guard input ip saddr @ban4 counter drop\n"
          "add rule inet mamori_guard input ip6 saddr @ban6 counter drop\n");
  if (!r) return r.error();
  return {};
}

Result<std::vector<std::string>> NftBans::ban(
    const std::vector<std::pair<std::string, int64_t>>& bans) {
  std::vector<std::string> warnings;
  std::vector<std::string> lines;  // one refresh per element: add, delete, add with timeout
  static const Allowlist kNone;
  std::vector<const std::pair<std::string, int64_t>*> kept;
  for (const auto& ban : bans) {
    const auto& [addr, secs] = ban;
    auto el = check_ban(addr, allow_ ? *allow_ : kNone);
    if (!el) {
      warnings.push_back("not banned: " + el.error().message);
      continue;
    }
    kept.push_back(&ban);
    bool v6 = el->find(':') != std::string::npos;
    std::string set = v6 ? "ban6" : "ban4";
    lines.push_back(fmt::format(
        "add element inet mamori_guard {0} {{ {1} }}\ndelete element inet mamori_guard {0} {{ {1} "
        "}}\nadd element inet mamori_guard {0} {{ {1} timeout {2}s }}\n",
        set, *el, std::clamp<int64_t>(secs, 1, kMaxBanSeconds)));
  }
  if (lines.empty()) return warnings;
  std::string all;
  for (const auto& l : lines) all += l;
  if (run(all)) return warnings;
  for (size_t i = 0; i < lines.size(); ++i)
    if (auto r = run(lines[i]); !r)
      warnings.push_back(fmt::format("{}: {}", kept[i]->first, r.error().message));
  return warnings;
}

Status NftBans::unban(const std::string& addr) {
  bool v6 = false;
  auto el = canonical_element(addr, v6);
  if (!el) return el.error();
  std::string set = v6 ? "ban6" : "ban4";
  auto r = run(fmt::format(
      "add element inet mamori_guard {0} {{ {1} }}\ndelete element inet mamori_guard {0} {{ {1} "
      "}}\n",
      set, *el));
  if (!r) return r.error();
  return {};
}

Result<std::vector<std::pair<std::string, int64_t>>> NftBans::list() {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const char* set : {"ban4", "ban6"}) {
    auto r = run("", {"-j", "list", "set", "inet", "mamori_guard", set});
    if (!r) {
      // nft ran and found no table (not yet created): nothing banned. nft that cannot be run
      // at all is an error — never "nothing is in the firewall".
      const std::string& m = r.error().message;
      if (m.starts_with("nft failed:") && m.find("No such file") != std::string::npos) continue;
      return r.error();
    }
    auto j = nlohmann::json::parse(*r, nullptr, false);
    if (j.is_discarded() || !j.contains("nftables")) return Error::data_loss("nft -j: unreadable");
    for (const auto& item : j["nftables"]) {
      if (!item.contains("set") || !item["set"].contains("elem")) continue;
      for (const auto& e : item["set"]["elem"]) {
        const auto& el = e.contains("elem") ? e["elem"] : e;
        const auto& v = el.contains("val") ? el["val"] : el;
        std::string s;
        if (v.is_string()) {
          s = v.get<std::string>();
        } else if (v.contains("prefix")) {
          s = fmt::format("{}/{}", v["prefix"].value("addr", ""), v["prefix"].value("len", 0));
        } else {
          continue;
        }
        out.push_back({s, el.is_object() ? el.value("expires", int64_t{-1}) : -1});
      }
    }
  }
  return out;
}

}  // namespace mamori::guard
