// detectSQLi / detectXSS (see detect.h). First slice: not implemented yet; the parser reports
// both operators as unsupported ("never match") so that `mamori waf rules` says so.
#include "waf/detect.h"

namespace mamori::waf {

bool detect_sqli(std::string_view, std::string*) { return false; }
bool detect_xss(std::string_view) { return false; }

}  // namespace mamori::waf
