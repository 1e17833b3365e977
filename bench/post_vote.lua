-- wrk script: POST /votes, one vote per request, each with a fresh vote_id.
-- Any answer but 2xx shows in wrk's "Non-2xx or 3xx responses" line, which the bench reads.
--   wrk -t2 -c32 -d20s --latency -s bench/post_vote.lua http://127.0.0.1:8001
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local municipios = {
  {"Chimaltenango", "Patzun"}, {"Guatemala", "Mixco"}, {"Peten", "Flores"},
  {"Quetzaltenango", "Quetzaltenango"}, {"Escuintla", "Escuintla"},
}
local papeletas = {"Blanca", "Verde", "Celeste", "Rosada", "Amarilla"}
local partidos = {"VAMOS", "UNE", "SEMILLA", "CABAL", "VALOR"}

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

local function uuid4()
  local template = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(template, "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

local headers = {["Content-Type"] = "application/json"}
local token = os.getenv("INGEST_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

function request()
  local place = municipios[math.random(#municipios)]
  local body = string.format(
    '{"vote_id":"%s","sede":%d,"departamento":"%s","municipio":"%s","papeleta":"%s","partido":"%s"}',
    uuid4(), math.random(1, 40), place[1], place[2],
    papeletas[math.random(#papeletas)], partidos[math.random(#partidos)])
  return wrk.format("POST", "/votes", headers, body)
end
