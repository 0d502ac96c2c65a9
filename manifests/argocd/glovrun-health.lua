-- Argo CD health check for glov.dev/GlovRun (manifests/README.md, "Argo CD").
-- Argo CD runs it in gopher-lua (Lua 5.1) with the object in the global `obj`.
-- It reads the operator's conditions (controller/status.py), not only the phase:
--   Healthy      the run succeeded
--   Degraded     the run failed, the spec is invalid, Kubeflow refused the
--                submission (token, namespace access, a bad request), or a
--                spec edit was refused after the run started
--   Suspended    the run was canceled (resumable with glov.dev/resume)
--   Progressing  waiting: for the operator, for Kubeflow, or for the run
local hs = {}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function refused(c)
  -- Refusals a retry does not cure; an outage (KubeflowUnavailable) is waited out.
  if c == nil or c.status ~= "False" then
    return false
  end
  return c.reason == "KubeflowUnauthorized" or c.reason == "KubeflowForbidden"
    or c.reason == "KubeflowRejected" or c.reason == "NamespaceRequired"
end

if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the GlovRun operator"
  return hs
end

local status = obj.status
local phase = status.phase
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil
    and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to read generation " .. generation
  return hs
end

local edit = condition("SpecApplied")
if edit ~= nil and edit.status == "False" then
  hs.status = "Degraded"
  hs.message = edit.message or "a spec edit was not applied"
  return hs
end

hs.message = status.message or phase
if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "Invalid" then
  hs.status = "Degraded"
elseif phase == "Canceled" then
  hs.status = "Suspended"
else
  -- Pending, Running
  local submitted = condition("Submitted")
  local reachable = condition("KubeflowReachable")
  if refused(submitted) then
    hs.status = "Degraded"
    hs.message = submitted.message or submitted.reason
  elseif refused(reachable) then
    hs.status = "Degraded"
    hs.message = reachable.message or reachable.reason
  else
    hs.status = "Progressing"
    local ready = condition("Ready")
    if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
      hs.message = ready.message
    end
  end
end
return hs
