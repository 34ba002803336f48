# Read every .dta and .xpt file of the folders given with haven and write their values as TSV
# to the last argument: file, row, variable, value (numbers to 15 significant digits, dates
# ISO 8601, NA empty). Usage: Rscript read_back.R FOLDER... OUT.tsv
suppressPackageStartupMessages(library(haven))
args <- commandArgs(trailingOnly = TRUE)
n <- length(args)
files <- unlist(lapply(args[-n], list.files, pattern = "\\.(dta|xpt)$", full.names = TRUE))
out <- file(args[n], open = "w", encoding = "UTF-8")
for (f in files) {
  d <- if (grepl("\\.dta$", f)) read_dta(f) else read_xpt(f)
  for (v in names(d)) {
    x <- zap_labels(d[[v]])
    if (inherits(x, "Date")) {
      s <- format(x, "%Y-%m-%d")
    } else if (inherits(x, "POSIXct")) {
      s <- format(x, "%Y-%m-%dT%H:%M:%S", tz = "UTC")
    } else if (is.numeric(x)) {
      s <- sprintf("%.15g", x)
    } else {
      s <- as.character(x)
    }
    s[is.na(x)] <- ""
    for (i in seq_along(s)) {
      writeLines(paste(f, i, v, gsub("[\t\n]", " ", s[i]), sep = "\t"), out)
    }
  }
}
close(out)
