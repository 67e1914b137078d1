# Apache Flink 2.3 for native Kubernetes: the image of the JobManager and
# TaskManager pods that `flink run-application --target kubernetes-application`
# (or kubernetes-session) creates (kubernetes.container.image), with
# deploy/flink's pod templates. Flink's distribution comes from PyPI's
# apache-flink-libraries wheel (Maven Central serves no flink-dist), which has
# none of Flink's bin/ scripts: flink-entrypoint.sh starts the JVMs they
# would (see that file). The context is assembled by deploy/local/flink:
#   docker build -f deploy/images/flink.Dockerfile -t sparklogs/flink:2.3.0 "$(deploy/local/flink image-context)"
# or on a machine with no registry (buildah, local JRE base):
#   deploy/local/images build-one deploy/images/flink.Dockerfile "$(deploy/local/flink image-context)" sparklogs/flink:2.3.0
# Context: lib/, opt/, plugins/ (the distribution), bin/bash-java-utils.jar
# (Flink's memory calculation), conf/ (Flink's default config.yaml,
# log4j-console.properties and log4j-cli.properties; in native Kubernetes mode
# the client's conf replaces it through a ConfigMap), bin/flink-entrypoint.sh
# (and bin/stdio-capture.sh, which it sources),
# RELEASE and examples/streaming/sparklogs-flink-e2e-job.jar (the end-to-end
# test job: local:///opt/flink/examples/streaming/sparklogs-flink-e2e-job.jar).
# Like Flink's official image: FLINK_HOME=/opt/flink, user flink (uid 9999),
# /docker-entrypoint.sh (Flink's default kubernetes.entry.path), bin/ on PATH,
# logs in /opt/flink/log (FLINK_LOG_DIR; deploy/flink's templates mount an
# emptyDir there that the sparklogs collector reads).
# The base needs bash, coreutils, findutils and a Java 17 runtime (JAVA_HOME, or java on PATH).
ARG JRE_IMAGE=eclipse-temurin:17-jre
FROM ${JRE_IMAGE}
ENV FLINK_HOME=/opt/flink
ENV PATH=/opt/flink/bin:$PATH
COPY lib /opt/flink/lib
COPY opt /opt/flink/opt
COPY plugins /opt/flink/plugins
COPY conf /opt/flink/conf
COPY bin /opt/flink/bin
COPY examples /opt/flink/examples
COPY RELEASE /opt/flink/RELEASE
RUN set -eu; \
    getent group 9999 >/dev/null || echo 'flink:x:9999:' >>/etc/group; \
    getent passwd 9999 >/dev/null || echo 'flink:x:9999:9999:Apache Flink:/opt/flink:/usr/sbin/nologin' >>/etc/passwd; \
    chmod 755 /opt/flink/bin/flink-entrypoint.sh; \
    for n in kubernetes-jobmanager.sh kubernetes-taskmanager.sh flink; do ln -s flink-entrypoint.sh "/opt/flink/bin/$n"; done; \
    ln -s /opt/flink/bin/flink-entrypoint.sh /docker-entrypoint.sh; \
    mkdir -p /opt/flink/log /opt/flink/usrlib; \
    chown 9999:9999 /opt/flink/log /opt/flink/usrlib /opt/flink/conf; \
    chmod 775 /opt/flink/log
WORKDIR /opt/flink
USER 9999
ENTRYPOINT ["/docker-entrypoint.sh"]
