// The page template of report.html (sim/report/report_page.html) embedded in the binary.
//
// The definition is generated at build time by cmake/embed_file.cmake into the build
// directory (generated/report_page_asset.cpp); html_report.cpp fills in its markers.
#pragma once

#include <string_view>

namespace systole {

std::string_view ReportPageTemplate();

}  // namespace systole
