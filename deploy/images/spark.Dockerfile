# Apache Spark for Kubernetes: the image of the driver and executor pods that
# spark-submit --master k8s://... --deploy-mode cluster creates
# (spark.kubernetes.container.image). One recipe for Spark 3.5 (Scala 2.12)
# and 4.x (Scala 2.13): the version is the build context's. The context is
# assembled from Maven Central's jars by deploy/local/spark:
#   docker build -f deploy/images/spark.Dockerfile -t sparklogs/spark:4.2.0 "$(deploy/local/spark image-context 4.2.0)"
# or on a machine with no registry (buildah, local JRE base):
#   deploy/local/images build-one deploy/images/spark.Dockerfile "$(deploy/local/spark image-context 4.2.0)" sparklogs/spark:4.2.0
# Context: jars/ (Spark and its dependencies), conf/, RELEASE,
# spark-entrypoint.sh (the driver and executor roles, see that file),
# stdio-capture.sh (which it sources: stdout and stderr for the sidecar) and
# examples/jars/sparklogs-e2e-job.jar (the end-to-end test job:
# local:///opt/spark/examples/jars/sparklogs-e2e-job.jar).
# The base needs bash, coreutils and a Java 17+ runtime (JAVA_HOME, or java on PATH).
# sparklogs itself needs nothing here: the pod templates mount the log4j2
# configuration and the log directory, and add the collector as a sidecar.
ARG JRE_IMAGE=eclipse-temurin:17-jre
FROM ${JRE_IMAGE}
ENV SPARK_HOME=/opt/spark
# uid 185 as in Apache Spark's images, with a passwd entry (Hadoop's login code
# fails without one). The working directory is writable by it and by any uid
# of group 0 (OpenShift-style random uids).
RUN set -eu; \
    getent group 185 >/dev/null || echo 'spark:x:185:' >>/etc/group; \
    getent passwd 185 >/dev/null || echo 'spark:x:185:185:Apache Spark:/opt/spark/work-dir:/usr/sbin/nologin' >>/etc/passwd; \
    mkdir -p /opt/spark/work-dir; \
    chown 185:0 /opt/spark/work-dir; \
    chmod 775 /opt/spark/work-dir
COPY jars /opt/spark/jars
COPY conf /opt/spark/conf
COPY examples /opt/spark/examples
COPY RELEASE /opt/spark/RELEASE
COPY spark-entrypoint.sh /opt/spark/spark-entrypoint.sh
COPY stdio-capture.sh /opt/spark/stdio-capture.sh
WORKDIR /opt/spark/work-dir
USER 185
ENTRYPOINT ["/opt/spark/spark-entrypoint.sh"]
