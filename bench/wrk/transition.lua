-- POST /api/v1/projects/{id}/transitions from a pool file of lines "<id> <to> <on>" (one step each).
-- Thread t of n takes lines t, t+n, t+2n …: no two threads move the same step. A thread whose share runs
-- out stops (counted in "exhausted"), so requests/s stays the rate of real transitions.
-- wrk ... -s transition.lua URL -- <pool file> <threads> [<bearer token>]
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local pool = {}
local i = 0
exhausted = 0

function init(args)
  local n, k = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if k % n == (tid or 1) - 1 then pool[#pool + 1] = line end
    k = k + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[3] and args[3] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[3]
  end
end

function request()
  i = i + 1
  local item = pool[i]
  if item == nil then
    exhausted = 1
    wrk.thread:stop()
    -- one last request (an expected 409; a 404 when the share was empty) while the thread stops
    item = pool[#pool] or "- started 1970-01-01"
  end
  local id, to, on = item:match("(%S+) (%S+) (%S+)")
  return wrk.format("POST", "/api/v1/projects/" .. id .. "/transitions", nil,
                    '{"to":"' .. to .. '","on":"' .. on .. '"}')
end
