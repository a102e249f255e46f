// A transaction's state: the numbering of the request's values, the transform cache, the TX
// collection and the per-thread buffers they live in (see engine_impl.h).
#include <algorithm>
#include <functional>

#include "waf/engine_impl.h"
#include "waf/transform.h"

namespace mamori::waf::detail {

void ValueIds::index(const Request& r, size_t nodes) {
  // What the request has before its body first (its ids stay the same when the body adds
  // values: Transaction::extend_cache), then the body's stores, then XML.
  const std::pair<Store, const std::vector<KV>*> head[] = {
      {Store::kArgsGet, &r.args_get}, {Store::kCookies, &r.cookies}, {Store::kHeaders, &r.headers}};
  const std::pair<Store, const std::vector<KV>*> body[] = {
      {Store::kArgsPost, &r.args_post},
      {Store::kFiles, &r.files},
      {Store::kFilesSizes, &r.files_sizes},
      {Store::kPartHeaders, &r.multipart_part_headers}};
  int64_t at = 0;
  auto number = [&](Store st, const std::vector<KV>& kv) {
    const int s = static_cast<int>(st);
    bases[2 * s] = static_cast<int32_t>(std::min<int64_t>(at, INT32_MAX));
    at += static_cast<int64_t>(kv.size());
    bases[2 * s + 1] = static_cast<int32_t>(std::min<int64_t>(at, INT32_MAX));
    at += static_cast<int64_t>(kv.size());
  };
  for (const auto& [st, kv] : head) number(st, *kv);
  singles = static_cast<int32_t>(at);
  at += static_cast<int>(Single::kCount);
  for (const auto& [st, kv] : body) number(st, *kv);
  xml_text = static_cast<int32_t>(std::min<int64_t>(at, INT32_MAX));
  at += static_cast<int64_t>(r.xml_text.size());
  xml_attrs = static_cast<int32_t>(std::min<int64_t>(at, INT32_MAX));
  at += static_cast<int64_t>(r.xml_attrs.size());
  total = static_cast<int32_t>(std::min<int64_t>(at, INT32_MAX));
  // At most 1 Mi table entries (4 MiB): a request with more values is evaluated uncached.
  enabled = at * static_cast<int64_t>(nodes) <= (int64_t{1} << 20);
}

Transaction::Transaction(const Engine::Impl& e, Request& r)
    : eng(e),
      req(r),
      buf(TxBuffers::acquire()),
      tx(buf->tx),
      matched_vars(buf->matched_vars),
      slots(buf->slots),
      cached(buf->cached),
      node_union(buf->node_union),
      union_done(buf->union_done),
      scratch(buf->scratch),
      vals(buf->vals),
      groups(buf->groups) {
  matched_vars.clear();
  scratch.clear();
  vals.clear();
  groups.clear();
}

Transaction::~Transaction() { TxBuffers::release(std::move(buf)); }

namespace {
thread_local std::vector<std::unique_ptr<TxBuffers>> t_spare;
}  // namespace

std::unique_ptr<TxBuffers> TxBuffers::acquire() {
  if (t_spare.empty()) return std::make_unique<TxBuffers>();
  std::unique_ptr<TxBuffers> b = std::move(t_spare.back());
  t_spare.pop_back();
  return b;
}

void TxBuffers::release(std::unique_ptr<TxBuffers> b) {
  // Kept: at most 16 per thread, and only when an ordinary request's size (a large one's
  // tables are given back to the allocator).
  if (!b || t_spare.size() >= 16 || b->slots.capacity() > (1u << 16) ||
      b->cached.capacity() > (1u << 14) || b->owned.size() > 4096 || b->hits.size() > 1024 ||
      b->vals.capacity() > (1u << 14))
    return;
  // What a request's values made (a 10 MB capture in tx.0) is not kept for the next one.
  b->owned.clear();
  b->scratch.clear();
  b->groups.clear();
  b->matched_vars.clear();
  b->tx.trim(4096);
  t_spare.push_back(std::move(b));
}

Hits& Transaction::new_hits(int32_t& index) {
  if (buf->hits_used == buf->hits.size()) buf->hits.emplace_back();
  index = static_cast<int32_t>(buf->hits_used);
  return buf->hits[buf->hits_used++];
}

bool Transaction::extend_cache() {
  if (!ids.enabled) return false;
  const ValueIds before = ids;
  // Only when the body's stores were empty before it (they are numbered last: new values
  // then take new ids); otherwise the numbering starts again.
  if (before.total != before.singles + static_cast<int32_t>(Single::kCount)) return false;
  ids.index(req, eng.tnodes.size());
  if (!ids.enabled) return false;
  const size_t nodes = eng.tnodes.size();
  // The values before the body kept their ids (and their bytes: only the body changed), so
  // their rows stay; REQUEST_BODY and FULL_REQUEST changed and start again.
  slots.resize(static_cast<size_t>(ids.total) * nodes, -1);
  for (Single s : {Single::kBody, Single::kFullRequest})
    std::fill_n(
        slots.begin() + static_cast<ptrdiff_t>(ids.single(s)) * static_cast<ptrdiff_t>(nodes),
        nodes, -1);
  fresh_from = before.total;
  for (uint8_t& d : union_done)
    if (d) d = 2;  // a union of the values before the body: new values are added to it
  return true;
}

bool Transaction::fresh(int32_t id) const {
  return id >= fresh_from || id == ids.single(Single::kBody) ||
         id == ids.single(Single::kFullRequest);
}

void Transaction::reset_cache() {
  direct_left = 32 * 1024;
  fresh_from = 0;
  ids.index(req, eng.tnodes.size());
  cached.clear();
  buf->owned.clear();
  buf->hits_used = 0;
  slots.assign(ids.enabled ? static_cast<size_t>(ids.total) * eng.tnodes.size() : 0, -1);
  node_union.resize(eng.groups.size());
  union_done.assign(eng.groups.size(), 0);
}

bool Transaction::rule_removed(const Rule& r) const {
  if (removed_ids.count(r.id)) return true;
  for (auto [a, b] : removed_ranges)
    if (r.id >= a && r.id <= b) return true;
  for (const auto& t : removed_tags)
    if (std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end()) return true;
  return false;
}

int32_t cached_at(Transaction& tx, int32_t id, std::string_view value, uint32_t node) {
  const size_t idx = static_cast<size_t>(id) * tx.eng.tnodes.size() + node;
  if (int32_t at = tx.slots[idx]; at >= 0) return at;
  std::string_view v = value;
  if (node != 0) {
    const TransformNode& tn = tx.eng.tnodes[node];
    v = tx.cached[static_cast<size_t>(cached_at(tx, id, value, tn.parent))].v;
    // A deque: strings never move, so views into them (and into the request) stay valid.
    if (!waf::unchanged(tn.t, v)) v = tx.buf->owned.emplace_back(waf::apply(tn.t, v));
  }
  tx.cached.push_back({v, -1});
  const auto at = static_cast<int32_t>(tx.cached.size() - 1);
  tx.slots[idx] = at;
  return at;
}

int TxNames::intern(std::string_view name) {
  if (int at = find(name); at >= 0) return at;
  const int slot = static_cast<int>(names_.size());
  names_.emplace_back(name);
  index_.emplace(std::string(name), slot);
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), slot,
                                  [&](int a, int b) { return names_[a] < names_[b]; }),
                 slot);
  return slot;
}

int TxNames::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

void TxVars::reset(const TxNames& names) {
  names_ = &names;
  vals_.resize(names.size());
  set_.assign(names.size(), 0);
  other_.clear();
}

const std::string* TxVars::get(std::string_view name, int slot) const {
  if (int at = slot_of(name, slot); at >= 0)
    return set_[static_cast<size_t>(at)] ? &vals_[static_cast<size_t>(at)] : nullptr;
  auto it = other_.find(name);
  return it == other_.end() ? nullptr : &it->second;
}

std::string& TxVars::put(std::string_view name, int slot) {
  if (int at = slot_of(name, slot); at >= 0) {
    std::string& v = vals_[static_cast<size_t>(at)];
    if (!set_[static_cast<size_t>(at)]) {
      set_[static_cast<size_t>(at)] = 1;
      v.clear();
    }
    return v;
  }
  auto it = other_.find(name);
  if (it == other_.end()) it = other_.emplace(std::string(name), std::string()).first;
  return it->second;
}

void TxVars::trim(size_t max) {
  for (std::string& v : vals_)
    if (v.capacity() > max) std::string().swap(v);
  other_.clear();
}

void TxVars::erase(std::string_view name, int slot) {
  if (int at = slot_of(name, slot); at >= 0) {
    set_[static_cast<size_t>(at)] = 0;
    return;
  }
  if (auto it = other_.find(name); it != other_.end()) other_.erase(it);
}

void TxVars::each(const std::function<void(std::string_view, const std::string&)>& f) const {
  // Two sorted sequences (the named slots, the map) merged.
  const std::vector<int>& order = names_->sorted();
  auto o = other_.begin();
  for (int slot : order) {
    const auto at = static_cast<size_t>(slot);
    if (!set_[at]) continue;
    const std::string& name = names_->name(at);
    for (; o != other_.end() && o->first < name; ++o) f(o->first, o->second);
    f(name, vals_[at]);
  }
  for (; o != other_.end(); ++o) f(o->first, o->second);
}

}  // namespace mamori::waf::detail
