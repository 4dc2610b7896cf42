// The Chart.js library (third_party/chartjs/chart.umd.min.js, MIT) embedded in the binary.
//
// The definition is generated at build time by cmake/embed_file.cmake into the build
// directory (generated/chartjs_asset.cpp) from the vendored file, so report.html can inline
// it: the page needs no network, and nothing is fetched at build time.
#pragma once

#include <string_view>

namespace systole {

// The minified UMD build of Chart.js (defines window.Chart when run in a page).
std::string_view ChartJsSource();

}  // namespace systole
