// The Hyperscan prefilter (see prefilter.h).
#include "waf/prefilter.h"

#include <hs.h>

#include <atomic>
#include <cstdlib>
#include <map>

namespace mamori::waf::detail {

namespace {

struct Pattern {
  std::string expr;
  unsigned flags;
  unsigned slot;
};

struct Node {
  std::vector<Pattern> patterns;
  unsigned slots = 0;
  hs_database_t* db = nullptr;
  std::vector<unsigned> always;  // slots whose pattern could not be built: always report
  // Slots whose pattern names the buffer's ends (\A, \z, \Z, \G): in a scan of several values
  // joined by line ends they might not report for a value inside; there they always do.
  std::vector<unsigned> buffer_anchored;
};

// Each thread scans with its own copy of the set's scratch space (cloned on first use; a set
// built later has a new generation, so a thread never uses scratch sized for another set).
struct Scratch {
  hs_scratch_t* s = nullptr;
  uint64_t generation = 0;
  ~Scratch() {
    if (s) hs_free_scratch(s);
  }
};
std::atomic<uint64_t> g_generation{0};

const unsigned kRegexFlags = HS_FLAG_DOTALL | HS_FLAG_MULTILINE | HS_FLAG_SINGLEMATCH |
                             HS_FLAG_ALLOWEMPTY | HS_FLAG_PREFILTER;

// Can Hyperscan take this pattern? (Parsing only: cheap. A pattern that parses but is too
// large to build is found when the node's database is built, which then checks one by one.)
bool supported(const std::string& expr, unsigned flags) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_expression_info(expr.c_str(), flags, &info, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return false;
  }
  free(info);
  return true;
}

bool compiles(const std::string& expr, unsigned flags) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile(expr.c_str(), flags, HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return false;
  }
  hs_free_database(db);
  return true;
}

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  static_cast<Hits*>(ctx)->set(id);
  return 0;
}

}  // namespace

struct PrefilterSet::Impl {
  std::map<uint32_t, Node> nodes;
  size_t count = 0;
  hs_scratch_t* proto = nullptr;  // large enough for every database of the set
  uint64_t generation = 0;
};

PrefilterSet::PrefilterSet() : impl_(std::make_unique<Impl>()) {}

PrefilterSet::~PrefilterSet() {
  for (auto& [n, node] : impl_->nodes)
    if (node.db) hs_free_database(node.db);
  if (impl_->proto) hs_free_scratch(impl_->proto);
}

int PrefilterSet::add_regex(uint32_t node, const std::string& pattern) {
  // A pattern with a NUL cannot be handed over as a C string; such rules run PCRE2 always.
  if (pattern.find('\0') != std::string::npos || pattern.empty()) return -1;
  if (!supported(pattern, kRegexFlags)) return -1;
  Node& n = impl_->nodes[node];
  n.patterns.push_back({pattern, kRegexFlags, n.slots});
  ++impl_->count;
  for (const char* a : {"\\A", "\\z", "\\Z", "\\G"})
    if (pattern.find(a) != std::string::npos) {
      n.buffer_anchored.push_back(n.slots);
      break;
    }
  return static_cast<int>(n.slots++);
}

int PrefilterSet::add_phrases(uint32_t node, const std::vector<std::string>& phrases) {
  if (phrases.empty()) return -1;
  Node& n = impl_->nodes[node];
  const unsigned slot = n.slots++;
  static const char* hex = "0123456789abcdef";
  for (const auto& p : phrases) {
    if (p.empty()) continue;
    std::string e;
    for (unsigned char c : p) {  // every byte as \xHH: a literal, whatever it holds
      e += "\\x";
      e += hex[c >> 4];
      e += hex[c & 15];
    }
    n.patterns.push_back({e, HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH, slot});
    ++impl_->count;
  }
  return static_cast<int>(slot);
}

// One node's database; on failure, the patterns that do not build alone are dropped (their
// slots then report always: those rules run PCRE2 on every value).
bool build_node(Node& node) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (const auto& p : node.patterns) {
      exprs.push_back(p.expr.c_str());
      flags.push_back(p.flags);
      ids.push_back(p.slot);
    }
    if (exprs.empty()) return true;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &node.db,
                         &err) == HS_SUCCESS)
      return true;
    hs_free_compile_error(err);
    node.db = nullptr;
    std::vector<Pattern> kept;
    for (auto& p : node.patterns) {
      if (compiles(p.expr, p.flags)) {
        kept.push_back(std::move(p));
      } else {
        node.always.push_back(p.slot);
      }
    }
    node.patterns = std::move(kept);
  }
  return false;
}

bool PrefilterSet::build() {
  for (auto& [id, node] : impl_->nodes) {
    if (!build_node(node)) return false;
    if (node.db && hs_alloc_scratch(node.db, &impl_->proto) != HS_SUCCESS) return false;
  }
  impl_->generation = ++g_generation;
  return true;
}

bool PrefilterSet::has(uint32_t node) const {
  auto it = impl_->nodes.find(node);
  return it != impl_->nodes.end() && it->second.db;
}

size_t PrefilterSet::slots(uint32_t node) const {
  auto it = impl_->nodes.find(node);
  return it != impl_->nodes.end() && it->second.db ? it->second.slots : 0;
}

size_t PrefilterSet::patterns() const { return impl_->count; }

void PrefilterSet::scan_joined(uint32_t node, std::string_view joined, Hits& hits) const {
  scan(node, joined, hits);
  auto it = impl_->nodes.find(node);
  if (it != impl_->nodes.end())
    for (unsigned a : it->second.buffer_anchored) hits.set(a);
}

void PrefilterSet::scan(uint32_t node, std::string_view v, Hits& hits) const {
  auto it = impl_->nodes.find(node);
  if (it == impl_->nodes.end() || !it->second.db) {
    hits.reset(0, true);  // no database: everything may match
    return;
  }
  const Node& n = it->second;
  hits.reset(n.slots, false);
  for (unsigned a : n.always) hits.set(a);
  thread_local Scratch scratch;
  if (scratch.generation != impl_->generation) {
    if (scratch.s) hs_free_scratch(scratch.s);
    scratch.s = nullptr;
    if (hs_clone_scratch(impl_->proto, &scratch.s) != HS_SUCCESS) {
      hits.reset(n.slots, true);  // no scratch: every rule runs PCRE2
      return;
    }
    scratch.generation = impl_->generation;
  }
  if (hs_scan(n.db, v.data(), static_cast<unsigned>(std::min<size_t>(v.size(), UINT32_MAX)), 0,
              scratch.s, on_match, &hits) != HS_SUCCESS)
    hits.reset(n.slots, true);
}

}  // namespace mamori::waf::detail
