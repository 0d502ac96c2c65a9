-- Argo CD health check for glov.dev/GlovRun (see manifests/README.md, "Argo CD").
-- Phases are the operator's (controller/status.py).
local hs = {}
if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the GlovRun operator"
  return hs
end
local phase = obj.status.phase
hs.message = obj.status.message or phase
if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "Invalid" then
  hs.status = "Degraded"
elseif phase == "Canceled" then
  hs.status = "Suspended"
else
  -- Pending
  -- Running
  hs.status = "Progressing"
end
return hs
