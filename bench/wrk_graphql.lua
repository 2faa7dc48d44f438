-- wrk script of bench/harness.py's `load`: posts prepared GraphQL requests, each once.
--
--   wrk -t THREADS -c CLIENTS -d SECONDS -s bench/wrk_graphql.lua URL -- REQUESTS OUT FIELD THREADS RECONNECT
--
-- REQUESTS: one request per line, "<bearer token>\t<JSON body>". Thread k of n (n = THREADS) sends
-- lines k, k + n, k + 2n, … in order, then stops once each has been answered.
-- OUT: written at the end: "duration <µs>", "outcome <code> <count>" lines (code "ok"
-- for a success).
-- FIELD: the payload field a success has (`"claim":{`); a failure's first error code
-- (`"code":"…"`) names it, or its HTTP status does. "latency <µs>" lines: the
-- latency percentiles 0.1, 0.2, … 100 of every request.
-- RECONNECT: every RECONNECT-th request of a thread asks the server to close its connection
-- afterwards (0: never), and wrk connects again: the server's workers accept the new
-- connection as they are free, so no worker keeps more than its share of wrk's
-- kept-alive connections for a whole round (see harness.RECONNECT_EVERY).

local threads = {}
local counter = 0

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local queue = {}
local sent = 0
local answered = 0
local field
-- Sent once the queue is empty, while other connections still wait for answers:
-- a request the app answers 404 without touching the database (not counted).
local filler

function init(args)
   local n = tonumber(args[4])
   local reconnect = tonumber(args[5] or "0")
   local line_number = 0
   for line in io.lines(args[1]) do
      if line_number % n == index then
         local tab = line:find("\t", 1, true)
         local headers = {
            ["Content-Type"] = "application/json",
            ["Authorization"] = "Bearer " .. line:sub(1, tab - 1),
         }
         if reconnect > 0 and (#queue + 1) % reconnect == 0 then
            headers["Connection"] = "close"
         end
         table.insert(queue, wrk.format("POST", "/graphql/", headers, line:sub(tab + 1)))
      end
      line_number = line_number + 1
   end
   field = '"' .. args[3] .. '":{'
   filler = wrk.format("GET", "/__bench_filler__/")
   outcomes = {}
   out_path = args[2]
end

-- wrk calls request() once on the first thread before the run, to check the script
-- (and may never send what it got): that call gets the filler, not a queued request.
local checked = false

function request()
   if not checked then
      checked = true
      if index == 0 then
         return filler
      end
   end
   sent = sent + 1
   return queue[sent] or filler
end

function response(status, headers, body)
   if status == 404 then
      return -- a filler
   end
   local outcome
   if status ~= 200 then
      outcome = "HTTP " .. status
   elseif body:find(field, 1, true) and not body:find('"code":', 1, true) then
      outcome = "ok"
   else
      outcome = body:match('"code":%s*"([^"]+)"') or body:sub(1, 60)
   end
   outcomes[outcome] = (outcomes[outcome] or 0) + 1
   answered = answered + 1
   if answered == #queue then
      -- wrk runs for its whole -d otherwise: harness.load waits for this file, then
      -- interrupts it (SIGINT), which ends the run and calls done().
      assert(io.open(out_path .. ".done." .. index, "w")):close()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local out = assert(io.open(threads[1]:get("out_path"), "w"))
   out:write(string.format("duration %d\n", summary.duration))
   for _, thread in ipairs(threads) do
      for outcome, count in pairs(thread:get("outcomes")) do
         out:write(string.format("outcome %s %d\n", outcome:gsub("%s", "_"), count))
      end
   end
   -- wrk keeps a histogram but shows Lua only its percentiles: a thousand of them.
   for k = 1, 1000 do
      out:write(string.format("latency %d\n", latency:percentile(k / 10)))
   end
   out:close()
end
