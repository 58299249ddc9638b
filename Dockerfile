# bulwark container image. Needs the host's network and the capabilities for capture and nftables:
#   docker run --network host --cap-add NET_ADMIN --cap-add NET_RAW \
#     -v /etc/bulwark:/etc/bulwark:ro -v bulwark-state:/var/lib/bulwark bulwark

FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 libpcap-dev libpcre2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# native/pcre2 is a file: dependency (the PCRE2 addon), built by node-gyp during npm ci.
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libpcre2-8-0 nftables iproute2 conntrack \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/lib/bulwark
COPY --from=build /src/node_modules ./node_modules
# node_modules/bulwark-pcre2 links here
COPY --from=build /src/native/pcre2/package.json /src/native/pcre2/index.js ./native/pcre2/
COPY --from=build /src/native/pcre2/build/Release/pcre2_binding.node ./native/pcre2/build/Release/
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY databases ./databases
COPY packaging/bulwark.yaml /usr/share/doc/bulwark/bulwark.yaml.example
COPY docs/schema/config.schema.json /usr/share/doc/bulwark/config.schema.json
RUN ln -s /usr/lib/bulwark/bin/bulwark.js /usr/local/bin/bulwark \
 && mkdir -p /var/lib/bulwark /var/log/bulwark /run/bulwark /etc/bulwark
VOLUME ["/var/lib/bulwark"]
STOPSIGNAL SIGTERM
# `docker run … bulwark --config /etc/bulwark/bulwark.yaml` appends to `bulwark run`;
# the CLI: `docker exec CONTAINER bulwark status`.
ENTRYPOINT ["/usr/local/bin/bulwark", "run"]
