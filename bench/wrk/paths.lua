-- GET requests cycling through the paths of a file (one per line), each thread from its own offset.
-- wrk ... -s paths.lua URL -- <paths file> [<bearer token>] [<cookie>]
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local paths = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  if args[2] and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  if args[3] and args[3] ~= "" then
    wrk.headers["Cookie"] = args[3]
  end
  i = ((tid or 1) - 1) * math.floor(#paths / 2)
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
