#pragma once
// The Hyperscan prefilter: every @rx pattern and @pm phrase of the rules that share a chain of
// transformations goes into one Hyperscan database (patterns in Hyperscan's prefilter mode,
// which may report a match PCRE would not but never misses one). A value is scanned once per
// chain; a rule whose pattern did not report is known not to match without running PCRE2. The
// exact answer is still PCRE2's (operators.cpp).
//
// Example:
//   PrefilterSet p;
//   p.add(node, "(?i)union\\s+select", false, slot);  // at build time, per rule
//   p.build();
//   Hits hits;  p.scan(node, value, hits);  // hits.test(slot): may match

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::waf::detail {

// The slots that reported for one value: a bit set, inline up to 256 slots.
class Hits {
 public:
  void reset(size_t slots, bool all) {
    words_ = (slots + 63) / 64;
    if (words_ > inline_.size()) more_.assign(words_, 0);
    for (size_t i = 0; i < words_; ++i) word(i) = all ? ~uint64_t{0} : 0;
  }
  void set(unsigned slot) {
    if (slot / 64 < words_) word(slot / 64) |= uint64_t{1} << (slot % 64);
  }
  // Adds the slots of `o` (a bit set of the same node).
  void merge(const Hits& o) {
    if (o.words_ == 0 || words_ == 0 || o.words_ != words_) {
      reset(0, true);  // one of them reports everything: so does the union
      return;
    }
    for (size_t i = 0; i < words_; ++i) word(i) |= o.word(i);
  }
  // An unknown slot reports (the rule then runs its operator).
  bool test(unsigned slot) const {
    return slot / 64 >= words_ || ((word(slot / 64) >> (slot % 64)) & 1);
  }

 private:
  uint64_t& word(size_t i) { return words_ > inline_.size() ? more_[i] : inline_[i]; }
  uint64_t word(size_t i) const { return words_ > inline_.size() ? more_[i] : inline_[i]; }
  std::array<uint64_t, 4> inline_{};
  std::vector<uint64_t> more_;
  size_t words_ = 0;
};

class PrefilterSet {
 public:
  PrefilterSet();
  ~PrefilterSet();
  PrefilterSet(const PrefilterSet&) = delete;
  PrefilterSet& operator=(const PrefilterSet&) = delete;

  // Adds a rule's pattern (a regular expression) or phrases (@pm, literal and caseless) to
  // the database of trie node `node`. The result: the rule's slot in that node's bit set, or
  // -1 when Hyperscan cannot take the pattern (the rule then always runs PCRE2).
  int add_regex(uint32_t node, const std::string& pattern);
  int add_phrases(uint32_t node, const std::vector<std::string>& phrases);
  // Compiles every node's database. Returns false (and every rule runs PCRE2) on failure.
  bool build();
  bool has(uint32_t node) const;
  size_t slots(uint32_t node) const;  // 0 when the node has no database
  // Sets in `hits` (one bit per slot of the node) the slots whose patterns report on `v`.
  void scan(uint32_t node, std::string_view v, Hits& hits) const;
  // The same on several values joined by '\n' (one scan instead of one per value): every slot
  // that reports on one of them reports here (patterns are compiled multi-line, so ^ and $
  // hold at each value's ends; those naming the buffer's ends report always). A slot may
  // report where no single value would: a superset, as a prefilter's answer may be.
  void scan_joined(uint32_t node, std::string_view joined, Hits& hits) const;
  size_t patterns() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mamori::waf::detail
