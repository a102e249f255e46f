// HTML sink: one self-contained file (no external resources; a CSP forbids them)
// with a summary, filters by severity, module, owner and state, and every
// finding's evidence and remediation. Rows are rendered here, escaped; the
// inline script only hides and shows them, so the page also reads without JS.
#include <fmt/format.h>

#include <set>

#include "core/text.h"
#include "report/common.h"

namespace mamori::report {

namespace {

std::string esc(std::string_view s) {
  std::string u = valid_utf8(s);
  std::string o;
  o.reserve(u.size());
  for (char c : u) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          o += fmt::format("&#x{:x};", static_cast<unsigned char>(c) + 0x2400);  // control pictures
        else
          o.push_back(c);
    }
  }
  return o;
}

constexpr const char* kStyle = R"CSS(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{background:#1d2430;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d1dd}main{padding:16px 24px;max-width:1200px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
.card{background:#fff;border-radius:6px;padding:10px 14px;min-width:90px;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:22px}
.filters{background:#fff;padding:10px 14px;border-radius:6px;margin-bottom:12px;display:flex;gap:14px;flex-wrap:wrap;align-items:center}
.filters label{font-weight:600}
.finding{background:#fff;border-radius:6px;margin:8px 0;box-shadow:0 1px 2px #0002;border-left:6px solid #999}
.finding summary{cursor:pointer;padding:10px 14px;list-style:none}
.finding .body{padding:0 14px 12px}
.finding pre{white-space:pre-wrap;word-break:break-word;background:#f0f2f5;padding:8px;border-radius:4px;margin:4px 0}
.sev{display:inline-block;min-width:64px;text-align:center;border-radius:3px;padding:1px 6px;color:#fff;font-size:12px;font-weight:700;text-transform:uppercase}
.sev-critical{background:#7a0019}.sev-high{background:#c62828}.sev-medium{background:#e08a00}.sev-low{background:#2f7fb5}.sev-info{background:#7a8594}
.finding.s-critical{border-color:#7a0019}.finding.s-high{border-color:#c62828}.finding.s-medium{border-color:#e08a00}.finding.s-low{border-color:#2f7fb5}
.state{font-size:12px;border:1px solid #aab;border-radius:3px;padding:0 4px;margin-left:6px}
.meta{color:#556;font-size:12px;margin-left:6px}
.unassigned{color:#c62828;font-weight:600}
table{border-collapse:collapse;background:#fff}td,th{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:left}
#count{color:#556}
.tier{font-size:12px;font-weight:700;border-radius:3px;padding:1px 5px;color:#fff;background:#7a8594}
.tier-patch-now{background:#7a0019}.tier-patch-this-week{background:#c62828}
#fix-first{background:#fff;border-radius:6px;padding:4px 14px 10px;margin-bottom:12px;box-shadow:0 1px 2px #0002}
#fix-first li{margin:6px 0}
.finding[data-state=fixed]{opacity:.6}
)CSS";

constexpr const char* kScript = R"JS(
(function(){
  var rank={info:0,low:1,medium:2,high:3,critical:4};
  var sel=function(id){return document.getElementById(id);};
  function apply(){
    var minSev=rank[sel('f-severity').value], mod=sel('f-module').value,
        own=sel('f-owner').value, st=sel('f-state').value, q=sel('f-text').value.toLowerCase();
    var shown=0, rows=document.querySelectorAll('.finding');
    for(var i=0;i<rows.length;i++){
      var r=rows[i], d=r.dataset;
      var ok=rank[d.severity]>=minSev && (mod===''||d.module===mod) && (own===''||d.owner===own)
             && (st===''||d.state===st) && (q===''||r.textContent.toLowerCase().indexOf(q)>=0);
      r.hidden=!ok; if(ok) shown++;
    }
    sel('count').textContent=shown+' of '+rows.length+' findings shown';
  }
  ['f-severity','f-module','f-owner','f-state','f-text'].forEach(function(id){
    sel(id).addEventListener('input',apply); sel(id).addEventListener('change',apply);
  });
  apply();
})();
)JS";

std::string options(const std::set<std::string>& values) {
  std::string o = "<option value=\"\">all</option>";
  for (const auto& v : values) o += fmt::format("<option value=\"{0}\">{0}</option>", esc(v));
  return o;
}

}  // namespace

std::string render_html(const Report& r) {
  std::set<std::string> modules, owners_set, states;
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& f : r.findings) {
    modules.insert(f.module);
    owners_set.insert(owner_or_unassigned(f));
    states.insert(std::string(state_name(f.state)));
    if (active(f)) ++counts[static_cast<int>(f.severity)];
  }
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
       "'unsafe-inline'; script-src 'unsafe-inline'\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n";
  h += fmt::format("<title>Mamori report — {}</title>\n<style>{}</style></head><body>\n",
                   esc(r.host), kStyle);
  h += fmt::format("<header><h1>Mamori report — {}</h1><p>", esc(r.host));
  if (r.scan)
    h += fmt::format("{} · scan #{} ({}) · {}", esc(r.scan->os), r.scan->id, esc(r.scan->scope),
                     iso8601(r.scan->finished_at));
  h += fmt::format(" · mamori {}</p></header>\n<main>\n", esc(r.tool_version));

  h += "<section class=\"cards\" id=\"summary\">";
  const char* names[5] = {"info", "low", "medium", "high", "critical"};
  for (int i = 4; i >= 0; --i)
    h += fmt::format(
        "<div class=\"card\" data-severity=\"{0}\"><b>{1}</b><span class=\"sev "
        "sev-{0}\">{0}</span></div>",
        names[i], counts[i]);
  int64_t total_pk = 0;
  for (const auto& [e, n] : r.packages) total_pk += n;
  h += fmt::format("<div class=\"card\"><b>{}</b>packages</div>", total_pk);
  auto unassigned = unassigned_assets(r);
  h += fmt::format("<div class=\"card\"><b>{}</b>unassigned assets</div></section>\n",
                   unassigned.size());
  for (const auto& w : r.warnings) h += fmt::format("<p class=\"warning\">⚠ {}</p>\n", esc(w));

  auto first = fix_first(r, 10);
  if (!first.empty()) {
    h += "<section id=\"fix-first\"><h2>Fix first</h2><ol>";
    for (const Finding* f : first)
      h += fmt::format(
          "<li><span class=\"tier tier-{}\">{}</span> <b>{}</b> — {}<br><code>{}</code></li>",
          esc(f->tier), esc(f->tier), esc(f->title), esc(f->tier_reason), esc(f->remediation));
    h += "</ol></section>\n";
  }
  h += "<section class=\"filters\">";
  h += "<label for=\"f-severity\">Severity ≥</label><select id=\"f-severity\">"
       "<option value=\"info\">info</option><option value=\"low\">low</option>"
       "<option value=\"medium\">medium</option><option value=\"high\">high</option>"
       "<option value=\"critical\">critical</option></select>";
  h += fmt::format("<label for=\"f-module\">Module</label><select id=\"f-module\">{}</select>",
                   options(modules));
  h += fmt::format("<label for=\"f-owner\">Owner</label><select id=\"f-owner\">{}</select>",
                   options(owners_set));
  h += fmt::format("<label for=\"f-state\">State</label><select id=\"f-state\">{}</select>",
                   options(states));
  h += "<label for=\"f-text\">Search</label><input id=\"f-text\" type=\"search\">";
  h += "<span id=\"count\"></span></section>\n<section id=\"findings\">\n";
  for (const auto& f : r.findings) {
    std::string sev(severity_name(f.severity));
    std::string owner = owner_or_unassigned(f);
    h += fmt::format(
        "<details class=\"finding s-{0}\" data-fingerprint=\"{1}\" data-severity=\"{0}\" "
        "data-module=\"{2}\" data-owner=\"{3}\" data-state=\"{4}\">\n<summary><span class=\"sev "
        "sev-{0}\">{0}</span> <b>{5}</b><span class=\"state\">{4}</span><span "
        "class=\"meta\">{2}/{6} · owner: <span class=\"{7}\">{3}</span></span></summary>\n",
        sev, esc(f.fingerprint), esc(f.module), esc(owner), state_name(f.state), esc(f.title),
        esc(f.check), f.owner.empty() ? "unassigned" : "owner");
    h += "<div class=\"body\">";
    h += fmt::format("<p><b>Asset:</b> <code>{}</code> · <b>Fingerprint:</b> <code>{}</code>",
                     esc(f.asset), esc(f.fingerprint));
    if (f.first_seen) h += fmt::format(" · first seen {}", iso8601(f.first_seen));
    if (f.fixed_at) h += fmt::format(" · fixed {}", iso8601(*f.fixed_at));
    h += "</p>";
    if (!f.tier.empty())
      h += fmt::format("<p><b>Priority:</b> <span class=\"tier tier-{0}\">{0}</span> — {1}</p>",
                       esc(f.tier), esc(f.tier_reason));
    h += fmt::format("<p><b>Evidence</b></p><pre>{}</pre>", esc(f.evidence));
    h += fmt::format("<p><b>Remediation</b></p><pre>{}</pre>", esc(f.remediation));
    if (!f.accepted_reason.empty())
      h += fmt::format("<p><b>Accepted:</b> {}</p>", esc(f.accepted_reason));
    if (!f.references.empty()) {
      h += "<p><b>References:</b> ";
      for (size_t i = 0; i < f.references.size(); ++i)
        h += (i ? ", " : "") + std::string("<code>") + esc(f.references[i]) + "</code>";
      h += "</p>";
    }
    h += "</div></details>\n";
  }
  if (r.findings.empty()) h += "<p>No findings.</p>\n";
  h += "</section>\n";
  h += "<section id=\"unassigned\"><h2>Unassigned assets</h2>";
  if (unassigned.empty()) {
    h += "<p>Every asset with a finding has an owner.</p>";
  } else {
    h += "<p>Nobody is responsible for these; assign with <code>mamori owners set PATTERN "
         "OWNER</code>.</p><ul>";
    for (const auto& a : unassigned) h += "<li><code>" + esc(a) + "</code></li>";
    h += "</ul>";
  }
  h += "</section>\n";
  if (!r.packages.empty()) {
    h += "<section "
         "id=\"inventory\"><h2>Inventory</h2><table><tr><th>ecosystem</th><th>packages</th></tr>";
    for (const auto& [e, n] : r.packages)
      h += fmt::format("<tr><td>{}</td><td>{}</td></tr>", esc(e), n);
    h += "</table></section>\n";
  }
  h += "</main>\n<script>";
  h += kScript;
  h += "</script>\n</body></html>\n";
  return h;
}

}  // namespace mamori::report
