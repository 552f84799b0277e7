// dockerode packs a build context with tar-fs; the agent never builds images, so it is left out of the bundle.
module.exports = {
  pack() {
    throw new Error("image builds are not supported by greenlight-agent");
  },
};
