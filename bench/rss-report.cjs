// Preloaded into a benchmarked process: reports its peak RSS when it exits.
process.on('exit', () => {
  process.stderr.write(`\nBENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
