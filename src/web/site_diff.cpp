// `mamori web baseline|check`: what a baseline learns from two crawls, how it is kept, and
// what a later crawl is compared with.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "web/site.h"
#include "web/url.h"

namespace mamori::web {
namespace {

constexpr size_t kSketch = 256;  // shingles kept per page (bottom-k)
constexpr size_t kVolatileMax = 2048;
constexpr double kDefaced = 0.5;  // less of the stable text left than this: defaced

uint64_t tokens_hash(const std::vector<std::string>& toks, const std::vector<uint32_t>* mask) {
  uint64_t h = fnv1a64("js");
  size_t m = 0;
  for (size_t i = 0; i < toks.size(); ++i) {
    bool blank = mask && m < mask->size() && (*mask)[m] == i;
    if (blank) ++m;
    h = fnv1a64(blank ? std::string_view("\x02") : std::string_view(toks[i]), h);
    h = fnv1a64(std::string_view("\0", 1), h);
  }
  return h;
}

std::string origin_of(const std::string& url) {
  auto u = Url::parse(url);
  return u ? u->origin() : std::string();
}

std::string key_of(const std::string& url) {
  auto u = Url::parse(url);
  return u ? u->key() : url;
}

std::vector<uint64_t> bottom_k(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  if (v.size() > kSketch) v.resize(kSketch);
  return v;
}

// Jaccard similarity estimated from two bottom-k sketches.
double similarity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<uint64_t> u;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(u));
  if (u.size() > kSketch) u.resize(kSketch);
  if (u.empty()) return 1.0;
  size_t both = 0;
  for (uint64_t x : u)
    both += std::binary_search(a.begin(), a.end(), x) && std::binary_search(b.begin(), b.end(), x);
  return static_cast<double>(both) / static_cast<double>(u.size());
}

bool sri_matches(std::string_view integrity, const std::map<std::string, std::string>& digests);

void learn_page(PageBaseline& pb, const Page& a, const Page* b,
                const std::map<std::string, ScriptBody>& scripts,
                std::vector<std::string>& warnings) {
  pb.status = a.status;
  pb.redirect = a.redirect;
  if (!a.html) return;
  for (const Page* p : {&a, b})
    if (p && p->html && (p->truncated || p->facts.cut || p->facts.flattened || p->facts.capped))
      pb.limits = true;
  const PageFacts& f = a.facts;
  std::string own = origin_of(a.url);
  pb.title = f.title;
  for (const Page* p : {&a, b}) {
    if (!p || !p->html) continue;
    for (const auto& fm : p->facts.forms) {
      pb.form = true;
      pb.sensitive = pb.sensitive || fm.sensitive;
      pb.form_origins.insert(origin_of(fm.action));
    }
    for (const auto& s : p->facts.scripts) {
      std::string o = origin_of(s.src);
      if (o != own) pb.script_origins.insert(o);
      auto& integ = pb.scripts[key_of(s.src)];
      if (integ.empty()) integ = s.integrity;
    }
    for (const auto& fr : p->facts.iframes) {
      std::string o = fr.src.empty() ? "" : origin_of(fr.src);
      pb.iframes.insert(o);
      if (fr.hidden) pb.hidden_iframes.insert(o);
    }
    for (const auto& is : p->facts.inline_scripts)
      pb.inline_hashes.insert(tokens_hash(is.tokens, nullptr));
  }
  for (const auto& s : f.scripts) {
    if (s.integrity.empty()) continue;
    auto body = scripts.find(s.src);
    if (body != scripts.end() && !body->second.digests.empty() &&
        !sri_matches(s.integrity, body->second.digests))
      pb.sri_bad.insert(key_of(s.src));
  }
  std::vector<uint64_t> stable = f.shingles;
  if (b && b->html) {
    // Inline scripts of the first fetch the second does not have: paired in order with the
    // second's unmatched ones of the same kind and length, the differing tokens are volatile.
    std::set<uint64_t> in_b, in_a;
    for (const auto& is : b->facts.inline_scripts) in_b.insert(tokens_hash(is.tokens, nullptr));
    for (const auto& is : f.inline_scripts) in_a.insert(tokens_hash(is.tokens, nullptr));
    std::vector<const InlineScript*> only_b;
    for (const auto& is : b->facts.inline_scripts)
      if (!in_a.contains(tokens_hash(is.tokens, nullptr))) only_b.push_back(&is);
    for (const auto& is : f.inline_scripts) {
      if (in_b.contains(tokens_hash(is.tokens, nullptr))) continue;
      auto it = std::find_if(only_b.begin(), only_b.end(), [&](const InlineScript* o) {
        return o && o->where == is.where && o->tokens.size() == is.tokens.size();
      });
      if (it == only_b.end()) continue;
      InlineTemplate t;
      t.tokens = is.tokens.size();
      for (size_t i = 0; i < is.tokens.size(); ++i)
        if (is.tokens[i] != (*it)->tokens[i]) t.mask.push_back(static_cast<uint32_t>(i));
      *it = nullptr;
      // More than half of it changed: not the same script with new values but another one
      // each time; nothing is learned, and a check will name it.
      if (t.mask.size() * 2 > t.tokens) {
        warnings.push_back(fmt::format(
            "{}: an inline script is different on every fetch ({}): a check will report it",
            sanitize(a.url), sanitize(is.excerpt.substr(0, 80))));
        continue;
      }
      t.hash = tokens_hash(is.tokens, &t.mask);
      pb.inline_volatile.push_back(std::move(t));
    }
    const auto& sb = b->facts.shingles;
    std::vector<uint64_t> both, diff;
    std::set_intersection(f.shingles.begin(), f.shingles.end(), sb.begin(), sb.end(),
                          std::back_inserter(both));
    std::set_symmetric_difference(f.shingles.begin(), f.shingles.end(), sb.begin(), sb.end(),
                                  std::back_inserter(diff));
    stable = std::move(both);
    if (diff.size() > kVolatileMax) diff.resize(kVolatileMax);
    pb.text_volatile = std::move(diff);
  }
  pb.text_count = stable.size();
  pb.text = bottom_k(std::move(stable));
}

bool matches_template(const std::vector<std::string>& toks, const std::vector<InlineTemplate>& ts) {
  for (const auto& t : ts)
    if (t.tokens == toks.size() && tokens_hash(toks, &t.mask) == t.hash) return true;
  return false;
}

// SRI: the strongest algorithm listed decides; any of its digests matching is a match.
bool sri_matches(std::string_view integrity, const std::map<std::string, std::string>& digests) {
  static constexpr std::string_view order[] = {"sha512", "sha384", "sha256"};
  std::map<std::string, std::vector<std::string>> want;
  for (auto part : split(integrity, ' ')) {
    part = trim(part);
    auto dash = part.find('-');
    if (dash == std::string_view::npos) continue;
    std::string alg = to_lower(part.substr(0, dash));
    std::string_view val = part.substr(dash + 1);
    val = val.substr(0, val.find('?'));
    want[alg].emplace_back(val);
  }
  for (auto alg : order) {
    auto it = want.find(std::string(alg));
    if (it == want.end()) continue;
    auto d = digests.find(std::string(alg));
    if (d == digests.end()) return false;
    return std::find(it->second.begin(), it->second.end(), d->second) != it->second.end();
  }
  return true;  // no algorithm a browser knows: the attribute is ignored
}

// The content's digest in the integrity attribute's own (strongest) algorithm.
std::string sri_of(std::string_view integrity, const std::map<std::string, std::string>& digests) {
  for (const char* alg : {"sha512", "sha384", "sha256"})
    if (to_lower(integrity).find(std::string(alg) + "-") != std::string::npos)
      if (auto d = digests.find(alg); d != digests.end()) return std::string(alg) + "-" + d->second;
  return "sha384-" + digests.at("sha384");
}

}  // namespace

SiteBaseline learn(const CrawlOptions& o, const Crawl& first, const Crawl& second, int64_t now) {
  SiteBaseline b;
  b.created = now;
  b.options = o;
  b.warnings = first.warnings;
  std::map<std::string, const Page*> by_url;
  for (const auto& p : second.pages) by_url[p.url] = &p;
  for (const auto& p : first.pages) {
    auto it = by_url.find(p.url);
    auto& pb = b.pages[p.url];
    learn_page(pb, p, it == by_url.end() ? nullptr : it->second, first.scripts, b.warnings);
    if (p.html && pb.text_count < 10)
      b.warnings.push_back(
          fmt::format("{}: too little stable text (under a dozen words) to "
                      "tell a defacement",
                      sanitize(p.url)));
    for (const auto& k : pb.sri_bad)
      b.warnings.push_back(
          fmt::format("{}: {} does not match its integrity attribute: browsers "
                      "refuse to run it (known at the baseline)",
                      p.url, k));
  }
  std::set<std::string> origins;
  for (const auto& s : o.starts) origins.insert(origin_of(s));
  for (const Crawl* c : {&first, &second})
    for (const auto& [url, body] : c->scripts) {
      if (!origins.contains(origin_of(url))) continue;
      auto& sb = b.scripts[key_of(url)];
      if (sb.url.empty()) sb.url = url;
      if (!body.sha256.empty()) sb.sha256s.insert(body.sha256);
    }
  // A script whose two fetches (same URL) differ is generated per request.
  for (const auto& [url, body] : first.scripts) {
    auto it = second.scripts.find(url);
    if (it != second.scripts.end() && !body.sha256.empty() && !it->second.sha256.empty() &&
        body.sha256 != it->second.sha256 && b.scripts.contains(key_of(url)))
      b.scripts[key_of(url)].volatile_content = true;
  }
  return b;
}

CheckResult compare(const SiteBaseline& base, const Crawl& now) {
  CheckResult out;
  out.warnings = now.warnings;
  // What the whole site had: the measure of a page the baseline did not know.
  PageBaseline site;
  for (const auto& [url, pb] : base.pages) {
    site.script_origins.insert(pb.script_origins.begin(), pb.script_origins.end());
    site.inline_hashes.insert(pb.inline_hashes.begin(), pb.inline_hashes.end());
    site.inline_volatile.insert(site.inline_volatile.end(), pb.inline_volatile.begin(),
                                pb.inline_volatile.end());
    site.form_origins.insert(pb.form_origins.begin(), pb.form_origins.end());
    site.hidden_iframes.insert(pb.hidden_iframes.begin(), pb.hidden_iframes.end());
    site.iframes.insert(pb.iframes.begin(), pb.iframes.end());
    site.sri_bad.insert(pb.sri_bad.begin(), pb.sri_bad.end());
    for (const auto& [k, i] : pb.scripts) site.scripts.emplace(k, i);
  }
  std::set<std::string> fetched;
  for (const auto& p : now.pages) {
    fetched.insert(p.url);
    auto it = base.pages.find(p.url);
    const PageBaseline* pb = it == base.pages.end() ? nullptr : &it->second;
    const PageBaseline& ref = pb ? *pb : site;
    if (!pb) ++out.new_pages;
    ++out.pages;
    std::string own = origin_of(p.url);
    bool form = (p.html && !p.facts.forms.empty()) || (pb && pb->form);
    Severity runs = form ? Severity::kHigh : Severity::kMedium;
    std::map<std::string, std::vector<std::string>> items;
    if (pb && pb->status >= 200 && pb->status < 300 && (p.status < 200 || p.status >= 400))
      out.warnings.push_back(fmt::format("{}: answered {} at the baseline, now {}", sanitize(p.url),
                                         pb->status,
                                         p.status ? std::to_string(p.status) : sanitize(p.error)));
    if (!p.redirect.empty()) {
      std::string to = origin_of(p.redirect);
      if (to != own && (!pb || origin_of(pb->redirect) != to))
        items["redirect-offsite"].push_back(sanitize(p.redirect));
    }
    if (p.html) {
      const PageFacts& f = p.facts;
      if ((p.truncated || f.cut || f.flattened || f.capped) && !(pb && pb->limits)) {
        std::vector<std::string> why;
        if (p.truncated || f.cut) why.push_back("longer than the size limit");
        if (f.flattened) why.push_back("markup nested too deep or a tag with over 512 attributes");
        if (f.capped)
          why.push_back("more scripts, handlers, links, iframes or forms than are read");
        items["over-limits"].push_back(fmt::format(
            "{}: what lies beyond is not judged (it was within the limits at the baseline)",
            fmt::join(why, "; ")));
      }
      for (const auto& s : f.scripts) {
        std::string o = origin_of(s.src), k = key_of(s.src);
        if (o != own && !ref.script_origins.contains(o))
          items["new-script-origin"].push_back(
              fmt::format("{} (loads {}{})", sanitize(o), sanitize(s.src),
                          s.dynamic ? ", added at run time by another script" : ""));
        if (o == own) {
          auto sb = base.scripts.find(k);
          auto body = now.scripts.find(s.src);
          // An own script that had content at the baseline and cannot be read now (an error,
          // too large, refused to the crawler) may be the changed one: said, not skipped.
          if (sb != base.scripts.end() && body != now.scripts.end() &&
              body->second.sha256.empty() && !sb->second.sha256s.empty())
            items["script-changed"].push_back(fmt::format(
                "{}: cannot be read now ({}), so its content cannot be compared", sanitize(s.src),
                !body->second.error.empty() ? sanitize(body->second.error)
                                            : fmt::format("HTTP {}", body->second.status)));
          if (sb == base.scripts.end()) {
            if (!ref.scripts.contains(k))
              items["new-script"].push_back(
                  sanitize(s.src) + (s.dynamic ? " (added at run time by another script)" : ""));
          } else if (!sb->second.volatile_content && body != now.scripts.end() &&
                     !body->second.sha256.empty() &&
                     !sb->second.sha256s.contains(body->second.sha256)) {
            items["script-changed"].push_back(
                fmt::format("{}: sha256 {} (baseline {})", sanitize(s.src), body->second.sha256,
                            sb->second.sha256s.empty() ? std::string("none, unreadable then")
                                                       : *sb->second.sha256s.begin()));
          }
        }
        auto was = ref.scripts.find(k);
        if (s.integrity.empty() && was != ref.scripts.end() && !was->second.empty())
          items["sri-removed"].push_back(
              fmt::format("{} (had integrity=\"{}\")", sanitize(s.src), sanitize(was->second)));
        if (!s.integrity.empty()) {
          auto body = now.scripts.find(s.src);
          if (body != now.scripts.end() && !body->second.digests.empty() &&
              !sri_matches(s.integrity, body->second.digests) && !ref.sri_bad.contains(k))
            items["sri-mismatch"].push_back(fmt::format("{}: integrity=\"{}\", the content is {}",
                                                        sanitize(s.src), sanitize(s.integrity),
                                                        sri_of(s.integrity, body->second.digests)));
        }
      }
      for (const auto& is : f.inline_scripts) {
        if (is.tokens.empty()) continue;
        if (ref.inline_hashes.contains(tokens_hash(is.tokens, nullptr))) continue;
        if (matches_template(is.tokens, ref.inline_volatile)) continue;
        items["new-inline-script"].push_back(fmt::format(
            "<{}> {}", is.where, sanitize(is.excerpt) + (is.excerpt.size() >= 200 ? " …" : "")));
      }
      for (const auto& fm : f.forms) {
        if (fm.action.empty()) continue;  // mailto:, javascript: (an inline script already)
        std::string o = origin_of(fm.action);
        if (o != own && !ref.form_origins.contains(o))
          items["form-offsite"].push_back(
              fmt::format("{} form posts to {}{}", fm.method, sanitize(fm.action),
                          fm.sensitive ? " (password or card fields)" : ""));
      }
      for (const auto& fr : f.iframes) {
        std::string o = fr.src.empty() ? "" : origin_of(fr.src);
        if (fr.hidden && !ref.hidden_iframes.contains(o))
          items["hidden-iframe"].push_back(fr.src.empty() ? "(inline document)" : sanitize(fr.src));
        else if (!fr.hidden && !o.empty() && o != own && !ref.iframes.contains(o))
          items["new-iframe-origin"].push_back(sanitize(fr.src));
      }
      if (pb && pb->text_count >= 10) {
        std::vector<uint64_t> cur;
        std::set_difference(f.shingles.begin(), f.shingles.end(), pb->text_volatile.begin(),
                            pb->text_volatile.end(), std::back_inserter(cur));
        double sim = similarity(pb->text, bottom_k(std::move(cur)));
        if (sim < kDefaced)
          items["defacement"].push_back(
              fmt::format("about {:.0f} % of the page's text is new; title \"{}\", was \"{}\"",
                          (1 - sim) * 100, sanitize(f.title), sanitize(pb->title)));
      }
    }
    static const std::map<std::string, std::pair<std::string, std::string>> kText = {
        {"redirect-offsite",
         {"The page now sends visitors to another site",
          "Find what sets the redirect (server configuration, .htaccess, a plugin, injected code) "
          "and remove it; then look for the way in (mamori web scan, mamori fim check)."}},
        {"new-script-origin",
         {"The page loads script from a new origin",
          "Confirm the script was added on purpose. If not, remove the tag, find how it got there "
          "(theme, plugin, database option, tag manager), rotate the admin passwords and check the "
          "web root (mamori web scan). PCI DSS v4.0 6.4.3: every payment-page script is authorised "
          "and justified."}},
        {"new-script",
         {"The page loads a script file it did not load before",
          "Confirm the file was deployed on purpose; a skimmer is often a new .js file on the site "
          "itself. Remove it if not, and find how it was written (mamori fim check, mamori web "
          "scan)."}},
        {"script-changed",
         {"A script of the site changed",
          "Compare the file with the version you deployed; if nobody changed it, restore it and "
          "find the way in. PCI DSS v4.0 11.6.1: changes to payment-page scripts are detected and "
          "acted on."}},
        {"sri-removed",
         {"Subresource Integrity was removed from a script",
          "Put the integrity attribute back; a tag that lost it can now be served anything by the "
          "script's host."}},
        {"sri-mismatch",
         {"A script no longer matches its integrity hash",
          "Browsers refuse to run it: either the file was changed where it is hosted (tampering) "
          "or updated without updating the hash. Find out which before changing the hash."}},
        {"new-inline-script",
         {"The page has inline script it did not have",
          "Read the script shown; if nobody added it (theme, plugin settings, a tag manager), it "
          "was injected: remove it, look in the database and templates for its source, and check "
          "the web root (mamori web scan)."}},
        {"form-offsite",
         {"A form on the page now sends its data to another site",
          "Restore the form's action; a form that posts passwords or card data elsewhere is the "
          "attack itself."}},
        {"hidden-iframe",
         {"The page has a new hidden iframe",
          "Hidden iframes load drive-by downloads and phishing; remove it and find what inserted "
          "it."}},
        {"new-iframe-origin",
         {"The page embeds a frame from a new origin",
          "A payment form in a frame is where card data goes: confirm the new frame's origin is "
          "your payment provider's, and find what changed it if not."}},
        {"over-limits",
         {"The page now goes beyond what the check reads",
          "A page padded past the limits can hide a script behind them: look at the page source "
          "for what was added, or raise --max-size at the next baseline if the page grew "
          "honestly."}},
        {"defacement",
         {"The page's content changed for the most part",
          "If the change was not yours, the site is defaced: take the page down or restore it from "
          "a known-good copy, then find the way in."}},
    };
    for (auto& [check, what] : items) {
      // One line per distinct item (a page may load the same script twice).
      std::set<std::string> once;
      std::erase_if(what, [&](const std::string& x) { return !once.insert(x).second; });
      const auto& [title, fix] = kText.at(check);
      Finding fd;
      fd.module = "web";
      fd.check = check;
      fd.asset = p.url;
      fd.severity = check == "form-offsite" || check == "redirect-offsite" || check == "defacement"
                        ? Severity::kHigh
                    : check == "sri-mismatch" ? Severity::kMedium
                                              : runs;
      if ((check == "hidden-iframe" || check == "new-iframe-origin") && !form)
        fd.severity = Severity::kMedium;
      fd.title = fmt::format("{}: {}", title, sanitize(p.url));
      if (what.size() > 20) {
        size_t n = what.size();
        what.resize(20);
        what.push_back(fmt::format("… and {} more", n - 20));
      }
      fd.evidence = fmt::format(
          "{}{}", fmt::join(what, "; "),
          pb ? "" : " (a page the baseline did not have: compared with the whole site)");
      fd.remediation = fix;
      if (check != "defacement" && check != "redirect-offsite" && check != "hidden-iframe")
        fd.references = {"PCI DSS v4.0 6.4.3", "PCI DSS v4.0 11.6.1"};
      assign_fingerprint(fd);
      out.findings.push_back(std::move(fd));
    }
  }
  for (const auto& [url, pb] : base.pages)
    if (!fetched.contains(url) && pb.status >= 200 && pb.status < 300) {
      ++out.missing_pages;
      if (out.missing_pages <= 20)
        out.warnings.push_back(sanitize(url) + ": in the baseline, not reached by this crawl");
    }
  return out;
}

}  // namespace mamori::web
