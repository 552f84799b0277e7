// prom-client reads the active trace span for exemplars, which the agent does not use: no span, ever.
module.exports = {
  trace: { getSpan: () => undefined },
  context: { active: () => undefined },
};
