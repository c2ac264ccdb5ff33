// puppeteer never downloads a browser here: tests and benchmarks launch Debian's chromium.
module.exports = { skipDownload: true };
