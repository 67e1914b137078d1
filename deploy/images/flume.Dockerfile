# Flume publishes no container image. Download apache-flume-1.11.0-bin.tar.gz
# from the Apache Flume download page into this directory, then from here:
#   docker build -f flume.Dockerfile -t flume:1.11.0 .
FROM eclipse-temurin:11-jre
ADD apache-flume-1.11.0-bin.tar.gz /opt/
RUN ln -s /opt/apache-flume-1.11.0-bin /opt/flume && useradd --uid 1000 --no-create-home flume
USER 1000:1000
ENTRYPOINT ["/opt/flume/bin/flume-ng"]
