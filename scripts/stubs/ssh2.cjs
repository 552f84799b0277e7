// The agent talks to Docker over its unix socket only; dockerode's ssh:// transport is left out of the bundle.
module.exports = {
  Client: function Client() {
    throw new Error("ssh:// Docker hosts are not supported by greenlight-agent");
  },
};
