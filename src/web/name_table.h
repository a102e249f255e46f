#pragma once
// The hash tables a web-shell judgement keeps per file and per thread, keyed by what a file
// spells: the names of functions (NameTable: each kept once in lower case with its class), the
// names of variables (StringIds) and variables by scope (IdMap). Open addressing in one flat
// array (a judgement looks up every name token of every file; node-based maps spent their time
// allocating and in cache misses). The keys come from files an attacker writes: hashes start from
// a seed chosen per process and are mixed before they pick a slot, and a lookup gives up after
// kMaxProbe slots — the key is then kept aside in an ordered map, where it stays (also once the
// table has grown) — so that no file of crafted names makes a table quadratic. Not a public API
// (shell_flow.cpp).
//
// Example:
//   NameTable t;
//   auto e = t.find_or_add("Base64_Decode", [](const std::string& n) -> uint16_t {
//     return n == "base64_decode" ? 1 : 0;  // the class a judgement gives the name
//   });
//   *e.name == "base64_decode", e.cls == 1

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::web::detail {

// splitmix64's last steps: every bit of the input moves every bit of the output.
inline uint64_t mix64(uint64_t h) {
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}
// Chosen once per process: where a key lands cannot be worked out in advance.
inline uint64_t process_seed() {
  static const uint64_t seed = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  return seed;
}
inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
// FNV-1a from the seed over the bytes (lower-cased when asked), then mixed.
inline uint64_t seeded_hash(std::string_view text, bool lower, uint64_t seed) {
  uint64_t h = seed;
  for (char c : text)
    h = (h ^ static_cast<unsigned char>(lower ? ascii_lower(c) : c)) * 0x100000001b3ULL;
  return mix64(h);
}

// Hashes to entry numbers: the index each of the three tables keeps. At most half full.
class SlotIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The entry with hash `h` for which same(entry) holds, or kNone.
  template <class Same>
  uint32_t find(uint64_t h, Same same) const {
    const Slot* s = probe(slots_, h, same);
    return s ? s->entry : kNone;
  }
  // The same, and when there is none `slot` is where a new entry's number goes (nullptr: the
  // run of slots is crowded, keep the key aside). Call reserve() first.
  template <class Same>
  uint32_t find(uint64_t h, Same same, uint32_t*& slot) {
    Slot* s = probe(slots_, h, same);
    slot = nullptr;
    if (s && s->entry != kNone) return s->entry;
    if (s) {
      s->hash = h;
      slot = &s->entry;
    }
    return kNone;
  }
  // Room for one more entry (call before find() when adding; moves the slots).
  void reserve(size_t entries) {
    if ((entries + 1) * 2 > slots_.size()) grow();
  }
  void clear() { slots_.clear(); }

 private:
  static constexpr size_t kMaxProbe = 64;
  struct Slot {
    uint64_t hash = 0;
    uint32_t entry = kNone;
  };
  // The slot holding the entry, or the free slot where it would go; nullptr when crowded.
  template <class Slots, class Same>
  static auto* probe(Slots& slots, uint64_t h, Same same) {
    decltype(&slots[0]) none = nullptr;
    if (slots.empty()) return none;
    const size_t mask = slots.size() - 1;
    size_t at = h & mask;
    for (size_t n = 0; n < kMaxProbe; ++n, at = (at + 1) & mask) {
      auto& s = slots[at];
      if (s.entry == kNone || (s.hash == h && same(s.entry))) return &s;
    }
    return none;
  }
  void grow() {
    std::vector<Slot> bigger(slots_.empty() ? 256 : slots_.size() * 2);
    const size_t mask = bigger.size() - 1;
    for (const Slot& s : slots_) {
      if (s.entry == kNone) continue;
      size_t at = s.hash & mask;
      while (bigger[at].entry != kNone) at = (at + 1) & mask;
      bigger[at] = s;
    }
    slots_ = std::move(bigger);
  }
  std::vector<Slot> slots_;  // a power of two
};

class NameTable {
 public:
  struct Entry {
    const std::string* name;  // lower case; stays valid until clear()
    uint16_t cls;
  };

  // The entry for `text` in lower case ('A'-'Z' only: PHP's names are case-insensitive in
  // ASCII), classed by `classify(lower_name)` the first time it is seen.
  // (`hash`: for tests, a hash of the name as written that replaces the seeded one)
  using Hash = uint64_t (*)(std::string_view);
  explicit NameTable(Hash h = nullptr) : hash_(h) {}

  template <class Classify>
  Entry find_or_add(std::string_view text, Classify classify) {
    const uint64_t h = hash_ ? hash_(text) : seeded_hash(text, true, seed_);
    index_.reserve(names_.size());
    uint32_t* slot = nullptr;
    const uint32_t e = index_.find(
        h, [&](uint32_t i) { return same(names_[i], text); }, slot);
    if (e != SlotIndex::kNone) return {&names_[e], classes_[e]};
    std::string low(text);
    for (char& c : low) c = ascii_lower(c);
    // A name kept aside when its run of slots was crowded stays there, even once the table has
    // grown and a slot is free: one name, one entry.
    if (auto it = crowded_.find(low); it != crowded_.end())
      return {&names_[it->second], classes_[it->second]};
    if (slot)
      *slot = static_cast<uint32_t>(names_.size());
    else
      crowded_.emplace(low, static_cast<uint32_t>(names_.size()));
    names_.push_back(std::move(low));
    classes_.push_back(classify(names_.back()));
    return {&names_.back(), classes_.back()};
  }

  size_t size() const { return names_.size(); }
  void clear() {
    index_.clear();
    names_.clear();
    classes_.clear();
    crowded_.clear();
  }

 private:
  static bool same(const std::string& low, std::string_view text) {
    if (low.size() != text.size()) return false;
    for (size_t i = 0; i < text.size(); ++i)
      if (low[i] != ascii_lower(text[i])) return false;
    return true;
  }
  Hash hash_ = nullptr;
  uint64_t seed_ = process_seed();
  SlotIndex index_;
  std::deque<std::string> names_;
  std::vector<uint16_t> classes_;
  std::map<std::string, uint32_t> crowded_;  // ordered: never quadratic
};

// Numbers for the distinct strings of one file, case-sensitive ($x and $X are two variables):
// the strings are views into the file, which outlives the table.
class StringIds {
 public:
  using Hash = uint64_t (*)(std::string_view);  // (for tests: replaces the seeded hash)
  explicit StringIds(Hash h = nullptr) : hash_(h) {}
  // The number of `text` (0, 1, 2 … in order of first sight).
  uint32_t id(std::string_view text) {
    index_.reserve(names_.size());
    uint32_t* slot = nullptr;
    const uint32_t e = index_.find(
        hash(text), [&](uint32_t i) { return names_[i] == text; }, slot);
    if (e != SlotIndex::kNone) return e;
    if (auto it = crowded_.find(text); it != crowded_.end()) return it->second;  // (see NameTable)
    if (slot)
      *slot = static_cast<uint32_t>(names_.size());
    else
      crowded_.emplace(text, static_cast<uint32_t>(names_.size()));
    names_.push_back(text);
    return static_cast<uint32_t>(names_.size() - 1);
  }
  // The number of `text`, or UINT32_MAX when it was never given one.
  uint32_t find(std::string_view text) const {
    const uint32_t e = index_.find(hash(text), [&](uint32_t i) { return names_[i] == text; });
    if (e != SlotIndex::kNone) return e;
    auto it = crowded_.find(text);
    return it == crowded_.end() ? UINT32_MAX : it->second;
  }

 private:
  uint64_t hash(std::string_view text) const {
    return hash_ ? hash_(text) : seeded_hash(text, false, seed_);
  }
  Hash hash_ = nullptr;
  uint64_t seed_ = process_seed();
  SlotIndex index_;
  std::vector<std::string_view> names_;
  std::map<std::string_view, uint32_t> crowded_;  // ordered: never quadratic
};

// uint64 keys to uint32 values (a variable's scope and name number to the variable).
class IdMap {
 public:
  using Hash = uint64_t (*)(uint64_t);  // (for tests: replaces the seeded hash)
  explicit IdMap(Hash h = nullptr) : hash_(h) {}
  // The value for `key`, set to `fresh` when there was none; `added` says which.
  uint32_t& at(uint64_t key, uint32_t fresh, bool& added) {
    index_.reserve(keys_.size());
    uint32_t* slot = nullptr;
    const uint32_t e = index_.find(
        hash(key), [&](uint32_t i) { return keys_[i] == key; }, slot);
    added = e == SlotIndex::kNone;
    if (!added) return values_[e];
    if (auto it = crowded_.find(key); it != crowded_.end()) {  // (see NameTable)
      added = false;
      return it->second;
    }
    if (!slot) {  // crowded
      added = true;
      return crowded_.emplace(key, fresh).first->second;
    }
    *slot = static_cast<uint32_t>(keys_.size());
    keys_.push_back(key);
    return values_.emplace_back(fresh);
  }
  const uint32_t* find(uint64_t key) const {
    const uint32_t e = index_.find(hash(key), [&](uint32_t i) { return keys_[i] == key; });
    if (e != SlotIndex::kNone) return &values_[e];
    auto it = crowded_.find(key);
    return it == crowded_.end() ? nullptr : &it->second;
  }

 private:
  uint64_t hash(uint64_t key) const { return hash_ ? hash_(key) : mix64(key ^ seed_); }
  Hash hash_ = nullptr;
  uint64_t seed_ = process_seed();
  SlotIndex index_;
  std::vector<uint64_t> keys_;
  std::deque<uint32_t> values_;  // (references handed out stay valid)
  std::map<uint64_t, uint32_t> crowded_;
};

}  // namespace mamori::web::detail
