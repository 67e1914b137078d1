# Apache Flume agent (Flume publishes no container image): the image
# deploy/flume/agent.yaml runs as flume:1.11.0. The build context is a Flume
# home: bin/flume-ng, lib/ and conf/. Either
#   - from Maven Central (no download page needed), assembled by deploy/local/flume:
#       docker build -f deploy/images/flume.Dockerfile -t flume:1.11.0 "$(deploy/local/flume image-context)"
#     its lib/ is flume-ng-node 1.11.0 and its run-time dependencies with Flume's log4j 2
#     binding (deploy/local/flume-pom.xml), its bin/flume-ng is deploy/images/flume-ng
#     (the command line of Flume's own script: same arguments);
#   - or Apache's binary release: download apache-flume-1.11.0-bin.tar.gz from the Apache
#     Flume download page, unpack it and use its directory as the context:
#       tar -xzf apache-flume-1.11.0-bin.tar.gz
#       docker build -f deploy/images/flume.Dockerfile -t flume:1.11.0 apache-flume-1.11.0-bin
# On a machine with no registry (buildah, local JRE base):
#   deploy/local/images build-one deploy/images/flume.Dockerfile "$(deploy/local/flume image-context)" flume:1.11.0
# Add the jars of other sources and sinks under lib/ (or plugins.d/) of the context.
# The base needs bash and a Java 11+ runtime (JAVA_HOME, or java on PATH).
ARG JRE_IMAGE=eclipse-temurin:11-jre
FROM ${JRE_IMAGE}
ENV FLUME_HOME=/opt/flume
COPY bin /opt/flume/bin
COPY lib /opt/flume/lib
COPY conf /opt/flume/conf
# uid 1000, with a passwd entry; the agent writes only to mounted volumes
# (deploy/flume/agent.yaml: /var/log/flume).
RUN set -eu; \
    getent group 1000 >/dev/null || echo 'flume:x:1000:' >>/etc/group; \
    getent passwd 1000 >/dev/null || echo 'flume:x:1000:1000:Apache Flume:/opt/flume:/usr/sbin/nologin' >>/etc/passwd; \
    chmod 755 /opt/flume/bin/flume-ng; \
    mkdir -p /var/log/flume && chown 1000:1000 /var/log/flume
USER 1000:1000
WORKDIR /opt/flume
ENTRYPOINT ["/opt/flume/bin/flume-ng"]
