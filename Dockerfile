# Multi-stage image of the personas service.
#   docker build -t personas .
#   docker run -p 8080:8080 -e DATABASE_URL=... personas                 # API (default)
#   docker run -e DATABASE_URL=... -e REDIS_URL=... personas worker      # batch worker
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY data ./data
RUN groupadd --system personas && useradd --system --gid personas --home-dir /app personas \
    && mkdir -p /app/.personas /app/.cache && chown personas:personas /app/.personas /app/.cache
USER personas
# The cluster every new embedded store starts from (README, the embedded store), made once here:
# PGlite's initdb takes seconds and near 1 GB, which a container would otherwise pay at its first store.
RUN node -e "import('/app/dist/store/pglite.js').then(async (m) => (await m.openPglite()).close())" \
    && test -n "$(ls /app/.cache/personas)"
EXPOSE 8080
ENTRYPOINT ["node", "bin/personas.js"]
CMD ["serve"]
