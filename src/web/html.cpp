#include "web/html.h"

#include <gumbo.h>

#include <algorithm>
#include <array>
#include <map>

namespace mamori::web {

uint64_t fnv1a64(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = lower(c);
  return o;
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

bool is_void(std::string_view n) {
  return one_of(n, {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                    "param", "source", "track", "wbr", "keygen"});
}

// Elements whose content is raw text up to their end tag.
bool is_raw(std::string_view n) {
  return one_of(n, {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
                    "noscript", "plaintext"});
}

// Tags kept whatever the depth: everything the page facts are made of.
bool is_kept(std::string_view n) {
  return is_raw(n) || one_of(n, {"form", "input", "a", "area", "meta", "base", "link", "frame",
                                 "html", "head", "body"});
}

size_t find_ci(std::string_view hay, std::string_view needle, size_t from) {
  if (needle.empty()) return from;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

// The end of the tag starting at `lt` ('<'): the index after its '>', quotes after '=' honoured.
size_t tag_end(std::string_view s, size_t lt) {
  char quote = 0;
  char prev = 0;
  for (size_t i = lt + 1; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if ((c == '"' || c == '\'') && prev == '=') {
      quote = c;
    } else if (c == '>') {
      return i + 1;
    }
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') prev = c;
  }
  return s.size();
}

// Attribute names in a tag (runs of non-space after a space, outside quoted values).
size_t count_attrs(std::string_view tag) {
  size_t n = 0;
  char quote = 0, prev = ' ';
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  for (size_t i = 1; i < tag.size(); ++i) {
    char c = tag[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if ((c == '"' || c == '\'') && prev == '=') {
      quote = c;
    } else if (!space(c) && c != '/' && c != '>' && c != '=' && (space(prev) || prev == '/')) {
      ++n;
    }
    prev = c;
  }
  return n;
}

// Prepares hostile markup for gumbo, whose work grows with the square of the nesting depth,
// of the attributes of one tag and of end tags that close nothing: tags that would nest deeper
// than max_depth are removed (and their end tags), so are tags with more than 512 attributes,
// end tags of nothing open, and <noscript> with its content (a browser with scripts on reads
// it as text up to </noscript>; gumbo would parse it as markup). What the page facts are made
// of is kept.
std::string flatten(std::string_view in, size_t max_depth, bool& flattened) {
  std::string out;
  out.reserve(in.size());
  std::vector<std::string> open;  // kept elements, innermost last
  std::map<std::string, size_t> dropped;
  size_t i = 0;
  while (i < in.size()) {
    size_t lt = in.find('<', i);
    if (lt == std::string_view::npos || lt + 1 >= in.size()) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, lt - i));
    if (in.compare(lt, 4, "<!--") == 0) {
      size_t e = in.find("-->", lt + 4);
      e = e == std::string_view::npos ? in.size() : e + 3;
      out.append(in.substr(lt, e - lt));
      i = e;
      continue;
    }
    bool end = in[lt + 1] == '/';
    size_t n0 = lt + 1 + (end ? 1 : 0);
    size_t n1 = n0;
    while (n1 < in.size() && n1 - n0 < 32 &&
           ((in[n1] >= 'a' && in[n1] <= 'z') || (in[n1] >= 'A' && in[n1] <= 'Z') ||
            (in[n1] >= '0' && in[n1] <= '9') || in[n1] == '-'))
      ++n1;
    if (n1 == n0) {  // not a tag: "<" as text, "<!doctype", "<?"
      size_t e = in[lt + 1] == '!' || in[lt + 1] == '?' ? tag_end(in, lt) : lt + 1;
      out.append(in.substr(lt, e - lt));
      i = e;
      continue;
    }
    std::string name = lowered(in.substr(n0, n1 - n0));
    size_t e = tag_end(in, lt);
    std::string_view tag = in.substr(lt, e - lt);
    i = e;
    if (end) {
      auto it = dropped.find(name);
      if (it != dropped.end() && it->second > 0) {
        --it->second;
        continue;
      }
      // Closes the innermost open element of that name and what is inside it; an end tag of
      // nothing open is dropped (gumbo would search its whole stack for it), but </p> and
      // </br> make elements.
      auto pos = std::find(open.rbegin(), open.rend(), name);
      if (pos != open.rend()) {
        open.erase(std::prev(pos.base()), open.end());
        out.append(tag);
      } else if (name == "p" || name == "br") {
        out.append(tag);
      }
      continue;
    }
    bool keep = is_kept(name) || is_void(name) || open.size() < max_depth;
    if (count_attrs(tag) > 512) keep = false;
    if (!keep) {
      flattened = true;
      if (!is_void(name)) ++dropped[name];
      continue;
    }
    if (name == "noscript") {
      size_t close = find_ci(in, "</noscript", i);
      i = close == std::string_view::npos ? in.size() : tag_end(in, close);
      continue;
    }
    out.append(tag);
    if (is_raw(name)) {
      size_t close = find_ci(in, "</" + name, i);
      size_t stop = close == std::string_view::npos ? in.size() : tag_end(in, close);
      out.append(in.substr(i, stop - i));  // the raw text and its end tag
      i = stop;
    } else if (!is_void(name)) {
      open.push_back(name);
    }
  }
  return out;
}

std::string attr(const GumboElement& el, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&el.attributes, name);
  return a && a->value ? std::string(a->value) : std::string();
}

bool has_attr(const GumboElement& el, const char* name) {
  return gumbo_get_attribute(&el.attributes, name) != nullptr;
}

std::string squeeze(std::string_view s) {
  std::string o;
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') o += lower(c);
  return o;
}

bool tiny(std::string_view v) {
  std::string s = squeeze(v);
  return s == "0" || s == "1" || s == "0px" || s == "1px";
}

bool style_hides(std::string_view style) {
  std::string s = squeeze(style);
  for (const char* k : {"display:none", "visibility:hidden", "width:0", "height:0", "width:1px",
                        "height:1px", "opacity:0;", "left:-", "top:-"}) {
    size_t p = s.find(k);
    if (p == std::string::npos) continue;
    std::string_view key = k;
    if (key == "left:-" || key == "top:-") {  // far off screen: -100px and beyond
      size_t d = p + key.size(), n = 0;
      while (d + n < s.size() && s[d + n] >= '0' && s[d + n] <= '9') ++n;
      if (n < 3) continue;
    }
    if ((key == "width:0" || key == "height:0") && p + key.size() < s.size() &&
        s[p + key.size()] == '.')
      continue;
    return true;
  }
  return s.ends_with("opacity:0");
}

bool hides(const GumboElement& el) {
  return has_attr(el, "hidden") || style_hides(attr(el, "style"));
}

// The URL of a refresh's content, as HTML reads it: "5; URL='x'", "0; x", "0,url = x".
std::string refresh_target(std::string_view content) {
  size_t i = 0;
  while (i < content.size() &&
         (content[i] == ' ' || (content[i] >= '0' && content[i] <= '9') || content[i] == '.'))
    ++i;
  if (i < content.size() && (content[i] == ';' || content[i] == ',')) ++i;
  while (i < content.size() && (content[i] == ' ' || content[i] == '\t')) ++i;
  std::string_view rest = content.substr(i);
  if (lowered(rest.substr(0, 3)) == "url") {
    size_t j = 3;
    while (j < rest.size() && rest[j] == ' ') ++j;
    if (j < rest.size() && rest[j] == '=') {
      ++j;
      while (j < rest.size() && rest[j] == ' ') ++j;
      rest = rest.substr(j);
    }
  }
  if (!rest.empty() && (rest.front() == '\'' || rest.front() == '"')) {
    char q = rest.front();
    rest.remove_prefix(1);
    rest = rest.substr(0, rest.find(q));
  }
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return std::string(rest);
}

bool script_runs(std::string_view type) {
  std::string t = squeeze(type);
  return t.empty() || t == "module" || t == "importmap" ||
         t.find("javascript") != std::string::npos || t.find("ecmascript") != std::string::npos ||
         t == "text/jscript" || t == "text/livescript";
}

bool sensitive_field(const GumboElement& el) {
  std::string type = lowered(attr(el, "type"));
  if (type == "password") return true;
  std::string hay =
      lowered(attr(el, "name") + " " + attr(el, "id") + " " + attr(el, "autocomplete"));
  for (const char* k : {"cc-number", "cc-csc", "cc-exp", "cardnumber", "card_number", "card-number",
                        "cvv", "cvc", "ccnum", "creditcard", "credit_card"})
    if (hay.find(k) != std::string::npos) return true;
  return false;
}

std::string text_of(const GumboNode* n) {
  std::string out;
  if (n->type != GUMBO_NODE_ELEMENT) return out;
  const GumboVector& kids = n->v.element.children;
  for (unsigned i = 0; i < kids.length; ++i) {
    auto* k = static_cast<const GumboNode*>(kids.data[i]);
    if (k->type == GUMBO_NODE_TEXT || k->type == GUMBO_NODE_CDATA ||
        k->type == GUMBO_NODE_WHITESPACE)
      out += k->v.text.text;
  }
  return out;
}

struct Walker {
  const HtmlLimits& lim;
  Url doc;   // the page's own address (a form without action posts there)
  Url base;  // what relative URLs resolve against (<base href>)
  PageFacts& f;
  std::vector<std::string> words;

  void add_words(std::string_view t) {
    std::string w;
    for (char c : t) {
      auto u = static_cast<unsigned char>(c);
      if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || u >= 0x80) {
        w += c;
      } else if (u >= 'A' && u <= 'Z') {
        w += lower(c);
      } else if (!w.empty()) {
        if (words.size() < 200000) words.push_back(std::move(w));
        w.clear();
      }
    }
    if (!w.empty() && words.size() < 200000) words.push_back(std::move(w));
  }

  void add_inline(std::string where, std::string_view code) {
    if (f.inline_scripts.size() >= lim.max_items) return;
    std::string ex;
    for (char c : code.substr(0, 400)) {
      bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (space && (ex.empty() || ex.back() == ' ')) continue;
      ex += space ? ' ' : c;
      if (ex.size() >= 200) break;
    }
    f.inline_scripts.push_back({std::move(where), js_tokens(code), std::move(ex)});
  }

  std::string resolved(const std::string& ref) {
    auto u = base.resolve(ref);
    return u ? u->str() : std::string();
  }

  void element(const GumboNode* n, bool hidden, int form) {
    const GumboElement& el = n->v.element;
    for (unsigned i = 0; i < el.attributes.length; ++i) {
      auto* a = static_cast<const GumboAttribute*>(el.attributes.data[i]);
      std::string name = lowered(a->name);
      std::string_view v = a->value ? a->value : "";
      if (name.size() > 2 && name.starts_with("on")) {
        add_inline(name, v);
      } else if (name == "href" || name == "src" || name == "action" || name == "formaction") {
        std::string t = squeeze(v);
        if (t.starts_with("javascript:"))
          add_inline(name, v.substr(std::min(v.size(), v.find(':') + 1)));
      }
    }
    switch (el.tag) {
      case GUMBO_TAG_TITLE:
        if (f.title.empty()) f.title = text_of(n).substr(0, 512);
        break;
      case GUMBO_TAG_A:
      case GUMBO_TAG_AREA:
        if (has_attr(el, "href") && f.links.size() < lim.max_items) {
          std::string u = resolved(attr(el, "href"));
          if (!u.empty()) f.links.push_back(std::move(u));
        }
        break;
      case GUMBO_TAG_SCRIPT: {
        if (!script_runs(attr(el, "type"))) break;
        if (has_attr(el, "src")) {
          std::string u = resolved(attr(el, "src"));
          if (!u.empty() && f.scripts.size() < lim.max_items)
            f.scripts.push_back({std::move(u), attr(el, "integrity").substr(0, 1024)});
        } else {
          add_inline("script", text_of(n));
        }
        break;
      }
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_FRAME:
        if (f.iframes.size() < lim.max_items) {
          bool h = hidden || hides(el) || (has_attr(el, "width") && tiny(attr(el, "width"))) ||
                   (has_attr(el, "height") && tiny(attr(el, "height")));
          std::string src = has_attr(el, "src") ? resolved(attr(el, "src")) : std::string();
          f.iframes.push_back({std::move(src), h});
        }
        break;
      case GUMBO_TAG_META:
        if (lowered(attr(el, "http-equiv")) == "refresh" && f.refresh.empty()) {
          std::string t = refresh_target(attr(el, "content"));
          if (!t.empty()) f.refresh = resolved(t);
        }
        break;
      case GUMBO_TAG_INPUT:
      case GUMBO_TAG_BUTTON:
        if (form >= 0 && sensitive_field(el)) f.forms[static_cast<size_t>(form)].sensitive = true;
        // A submit button's formaction sends its form elsewhere: a form target of its own.
        if (has_attr(el, "formaction") && f.forms.size() < lim.max_items) {
          FormTag ft{resolved(attr(el, "formaction")), lowered(attr(el, "formmethod")), false};
          if (form >= 0) {
            const FormTag& owner = f.forms[static_cast<size_t>(form)];
            ft.sensitive = owner.sensitive;
            if (ft.method.empty()) ft.method = owner.method;
          }
          if (ft.method.empty()) ft.method = "get";
          if (!ft.action.empty()) f.forms.push_back(std::move(ft));
        }
        break;
      default:
        break;
    }
  }

  void walk(const GumboNode* root) {
    struct Item {
      const GumboNode* n;
      bool hidden;
      int form;
    };
    std::vector<Item> stack{{root, false, -1}};
    while (!stack.empty()) {
      Item it = stack.back();
      stack.pop_back();
      const GumboNode* n = it.n;
      if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
        const GumboNode* p = n->parent;
        if (p && p->type == GUMBO_NODE_ELEMENT) {
          GumboTag t = p->v.element.tag;
          if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_NOSCRIPT ||
              t == GUMBO_TAG_TEMPLATE || t == GUMBO_TAG_IFRAME)
            continue;
        }
        if (!it.hidden) add_words(n->v.text.text);
        continue;
      }
      if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE &&
          n->type != GUMBO_NODE_DOCUMENT)
        continue;
      int form = it.form;
      bool hidden = it.hidden;
      const GumboVector* kids = nullptr;
      if (n->type == GUMBO_NODE_DOCUMENT) {
        kids = &n->v.document.children;
      } else {
        const GumboElement& el = n->v.element;
        hidden = hidden || hides(el);
        if (el.tag == GUMBO_TAG_FORM && f.forms.size() < lim.max_items) {
          std::string a = has_attr(el, "action") && !squeeze(attr(el, "action")).empty()
                              ? resolved(attr(el, "action"))
                              : doc.str();
          std::string m = lowered(attr(el, "method"));
          f.forms.push_back({std::move(a), m.empty() ? "get" : m, false});
          form = static_cast<int>(f.forms.size() - 1);
        }
        element(n, hidden, form);
        kids = &el.children;
      }
      for (unsigned i = kids->length; i-- > 0;)
        stack.push_back({static_cast<const GumboNode*>(kids->data[i]), hidden, form});
    }
    for (size_t i = 0; i + 2 < words.size(); ++i)
      f.shingles.push_back(fnv1a64(
          words[i + 2], fnv1a64(" ", fnv1a64(words[i + 1], fnv1a64(" ", fnv1a64(words[i]))))));
    if (words.size() < 3 && !words.empty()) {
      std::string all;
      for (auto& w : words) all += w + " ";
      f.shingles.push_back(fnv1a64(all));
    }
    std::sort(f.shingles.begin(), f.shingles.end());
    f.shingles.erase(std::unique(f.shingles.begin(), f.shingles.end()), f.shingles.end());
    f.words = words.size();
  }
};

const GumboNode* find_base(const GumboNode* root) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    const GumboVector* kids = nullptr;
    if (n->type == GUMBO_NODE_DOCUMENT) {
      kids = &n->v.document.children;
    } else if (n->type == GUMBO_NODE_ELEMENT) {
      if (n->v.element.tag == GUMBO_TAG_BASE && has_attr(n->v.element, "href")) return n;
      kids = &n->v.element.children;
    } else {
      continue;
    }
    for (unsigned i = kids->length; i-- > 0;)
      stack.push_back(static_cast<const GumboNode*>(kids->data[i]));
  }
  return nullptr;
}

bool looks_random(std::string_view s) {
  if (s.size() < 8) return false;
  bool digit = false, alpha = false, b64 = true;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      alpha = true;
    } else if (c != '+' && c != '=' && c != '-' && c != '_') {
      b64 = false;  // '/', ':' and '.' make addresses: never taken for a random value
    }
  }
  return b64 && digit && (alpha || s.size() >= 10);
}

}  // namespace

std::vector<std::string> js_tokens(std::string_view js, size_t max_tokens) {
  std::vector<std::string> out;
  size_t i = 0;
  auto ident = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || static_cast<unsigned char>(c) >= 0x80;
  };
  while (i < js.size() && out.size() < max_tokens) {
    char c = js[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (c == '/' && i + 1 < js.size() && js[i + 1] == '/') {
      size_t e = js.find('\n', i);
      i = e == std::string_view::npos ? js.size() : e;
    } else if (c == '/' && i + 1 < js.size() && js[i + 1] == '*') {
      size_t e = js.find("*/", i + 2);
      i = e == std::string_view::npos ? js.size() : e + 2;
    } else if (c == '"' || c == '\'' || c == '`') {
      size_t j = i + 1;
      while (j < js.size() && js[j] != c) j += js[j] == '\\' ? 2 : 1;
      std::string_view body = js.substr(i + 1, std::min(j, js.size()) - i - 1);
      out.push_back(looks_random(body) ? std::string("\x01S")
                                       : std::string(1, c) + std::string(body));
      i = std::min(j + 1, js.size());
    } else if (c >= '0' && c <= '9') {
      size_t j = i;
      size_t digits = 0;
      while (j < js.size() && (ident(js[j]) || js[j] == '.'))
        digits += js[j++] >= '0' && js[j - 1] <= '9';
      out.push_back(digits >= 6 ? std::string("\x01N") : std::string(js.substr(i, j - i)));
      i = j;
    } else if (ident(c)) {
      size_t j = i;
      while (j < js.size() && ident(js[j])) ++j;
      out.emplace_back(js.substr(i, j - i));
      i = j;
    } else {
      out.emplace_back(1, c);
      ++i;
    }
  }
  return out;
}

PageFacts parse_page(std::string_view html, const Url& base, const HtmlLimits& lim) {
  PageFacts f;
  if (html.size() > lim.max_bytes) {
    html = html.substr(0, lim.max_bytes);
    f.cut = true;
  }
  std::string flat = flatten(html, lim.max_depth, f.flattened);
  GumboOptions opts = kGumboDefaultOptions;
  opts.max_errors = 0;  // gumbo copies the open elements into each error: quadratic memory
  GumboOutput* out = gumbo_parse_with_options(&opts, flat.data(), flat.size());
  if (!out) return f;
  Walker w{lim, base, base, f, {}};
  if (const GumboNode* b = find_base(out->document)) {
    if (auto u = base.resolve(attr(b->v.element, "href"))) w.base = *u;
  }
  w.walk(out->document);
  gumbo_destroy_output(&opts, out);
  size_t cap = lim.max_items;
  f.capped = f.links.size() >= cap || f.scripts.size() >= cap || f.inline_scripts.size() >= cap ||
             f.iframes.size() >= cap || f.forms.size() >= cap;
  return f;
}

}  // namespace mamori::web
