-- wrk reporter: latency percentiles in microseconds, one per line, for bench/run.py.
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("p%d=%d\n", p, latency:percentile(p)))
  end
end
